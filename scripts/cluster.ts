/**
 * `npm run cluster`: the classic local three-node mesh in the foreground. Nodes A, B and C on
 * client ports 8080-8082 and peer ports 9080-9082, each peered with the other two, data under
 * ./.cluster. Ctrl-C stops all three.
 *
 *   npm run cluster              listen on 127.0.0.1
 *   npm run cluster -- --lan     listen on every interface (others on the LAN can join)
 *
 * The nodes are peered with each other and run with `--no-discovery`: a developer's cluster
 * never announces itself on the network it is on, even with `--lan`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'

const CLI = resolve(import.meta.dirname, '../src/main/cli.ts')
const NAMES = ['A', 'B', 'C']
const host = process.argv.includes('--lan') ? '0.0.0.0' : '127.0.0.1'

const children: ChildProcess[] = NAMES.map((name, i) => {
  const peers = NAMES.flatMap((_, j) => (j === i ? [] : ['--peer', `127.0.0.1:${9080 + j}`]))
  const child = spawn(
    process.execPath,
    [
      CLI,
      '--name',
      name,
      '--host',
      host,
      '--port',
      `${8080 + i}`,
      '--peer-port',
      `${9080 + i}`,
      '--data',
      resolve('.cluster', name),
      '--log-level',
      'warn',
      '--no-discovery',
      ...peers,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const prefix = (line: string) => (line ? `[${name}] ${line}\n` : '')
  child.stdout?.on('data', (d: Buffer) =>
    process.stdout.write(d.toString().split('\n').map(prefix).join('')),
  )
  child.stderr?.on('data', (d: Buffer) =>
    process.stderr.write(d.toString().split('\n').map(prefix).join('')),
  )
  child.on('exit', (code, signal) => {
    if (!stopping)
      process.stderr.write(`[${name}] exited (${signal ?? code}); the others keep running\n`)
  })
  return child
})

let stopping = false
function stop(): void {
  if (stopping) return
  stopping = true
  process.stdout.write('stopping the cluster…\n')
  for (const child of children) child.kill('SIGTERM')
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

await Promise.all(
  children.map(
    (c) => new Promise((done) => (c.exitCode === null ? c.on('exit', done) : done(null))),
  ),
)
process.stdout.write('cluster stopped\n')
