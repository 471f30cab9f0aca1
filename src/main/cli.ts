#!/usr/bin/env node
/**
 * The `chat-node` command's entry point (`out/main/cli.js` once built). It checks the Node.js
 * version before it loads the node: static imports are all linked before any code runs, and
 * the node's own (`node:sqlite`) do not exist on older versions, so the program comes in
 * through a dynamic import, after the check.
 */
import '../../scripts/check-node.js'

await import('./chat-node.ts')
