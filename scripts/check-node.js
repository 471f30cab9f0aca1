/**
 * Stops with one plain sentence and exit code 2 when this Node.js is older than Palaver needs
 * (`node:sqlite`, running TypeScript sources directly). Every entry point runs it before
 * anything that would fail to load on an older Node: the npm scripts run this file first
 * (`node scripts/check-node.js && …`) and `src/main/cli.ts` imports it before it loads the node.
 *
 * Plain JavaScript with no imports and no recent syntax, so that old Node versions can run it.
 * Keep MIN_NODE_MAJOR equal to `engines.node` in package.json (a test checks it).
 */

/** The oldest Node.js major version Palaver runs on. */
export const MIN_NODE_MAJOR = 24

const major = Number(process.version.slice(1).split('.')[0])
if (!(major >= MIN_NODE_MAJOR)) {
  process.stderr.write(
    'Palaver needs Node.js ' + MIN_NODE_MAJOR + ' or newer (this is ' + process.version + ')\n',
  )
  process.exit(2)
}
