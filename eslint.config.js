import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'

export default tseslint.config(
  { ignores: ['node_modules', 'out', 'dist', '.cluster', 'test-results', 'playwright-report'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The node runs in the desktop app, the headless CLI and tests alike: it must never reach
    // for Electron or React (docs/architecture.md).
    files: [
      'src/main/node/**',
      'src/main/cli.ts',
      'src/main/chat-node.ts',
      'src/main/node-controller.ts',
      'src/main/config-store.ts',
      'src/main/ipc-handlers.ts',
      'src/shared/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['electron', 'electron/*', 'react', 'react-dom', 'react/*', '**/renderer/**'] },
      ],
    },
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // The renderer talks to nodes only through the protocol and to its own node only through
      // the preload API: it never imports the node's or the main process's code.
      'no-restricted-imports': ['error', { patterns: ['**/main/**', '**/preload/**', 'electron'] }],
    },
  },
)
