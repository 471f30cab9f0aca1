/**
 * `chat-node doctor`: asks a running node (this machine's, by default) how its network looks and
 * prints the network doctor's findings (src/shared/doctor.ts) for people. It reads the node's
 * `GET /health` and sends nothing else.
 *
 *   chat-node doctor                                  the node at http://127.0.0.1:8080
 *   chat-node doctor --url http://10.0.0.5:8080 --token T
 *
 * Exit codes: 0 nothing wrong, 1 a problem was found (or no node answered), 2 bad flags.
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { DEFAULT_CLIENT_PORT } from './node/options.ts'
import { diagnose, type DoctorInput, type Finding } from '../shared/doctor.ts'

export const DOCTOR_USAGE = `Usage: chat-node doctor [--url URL] [--token T]

  --url URL     the node's client address (default http://127.0.0.1:${DEFAULT_CLIENT_PORT})
  --token T     its access token, if it has one (or PALAVER_TOKEN)
`

/** How long the node may take to answer. */
const HEALTH_TIMEOUT_MS = 5_000

/** The parts of `/health` the doctor reads; anything else in it is ignored. */
const healthSchema = z.looseObject({
  node: z.looseObject({ id: z.string(), name: z.string() }),
  peers: z
    .array(
      z.looseObject({
        id: z.string().nullable(),
        name: z.string().nullable(),
        addr: z.string(),
        state: z.enum(['connecting', 'up', 'down']),
        rttMs: z.number().nullable(),
        lastError: z.string().nullable(),
        skewMs: z.number().optional(),
      }),
    )
    .optional(),
  discovery: z.unknown().optional(),
})

const MARKS: Record<Finding['severity'], string> = {
  problem: 'PROBLEM',
  warning: 'WARNING',
  info: 'note',
  ok: 'ok',
}

/** Runs the doctor with `argv` (after `doctor`); resolves with the exit code. */
export async function runDoctor(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
): Promise<number> {
  let url: URL
  let token: string | undefined
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: { url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean' } },
    })
    if (values.help) {
      out(DOCTOR_USAGE)
      return 0
    }
    url = new URL('/health', values.url ?? `http://127.0.0.1:${DEFAULT_CLIENT_PORT}`)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('--url: not http')
    token = values.token ?? env.PALAVER_TOKEN
  } catch (error) {
    out(`chat-node doctor: ${(error as Error).message}\n\n${DOCTOR_USAGE}`)
    return 2
  }

  let input: DoctorInput
  try {
    const response = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    })
    if (response.status === 401) throw new Error('it needs its access token: give --token')
    const health = healthSchema.parse(await response.json())
    if (health.peers === undefined)
      throw new Error('it shows only its name without its token: give --token')
    input = {
      node: health.node,
      peers: health.peers,
      ...(health.discovery === undefined
        ? {}
        : { discovery: health.discovery as DoctorInput['discovery'] }),
    }
  } catch (error) {
    out(`chat-node doctor: no report from the node at ${url.origin}: ${reason(error)}\n`)
    return 1
  }

  out(`Network doctor for ${input.node.name} (${input.node.id}) at ${url.origin}\n\n`)
  const findings = diagnose(input)
  for (const f of findings) {
    out(`${MARKS[f.severity].padEnd(8)} ${f.title}\n`)
    if (f.advice) out(`${' '.repeat(9)}${f.advice}\n`)
  }
  return findings.some((f) => f.severity === 'problem') ? 1 : 0
}

function reason(error: unknown): string {
  if (error instanceof z.ZodError) return 'its answer is not a Palaver health report'
  const cause = (error as { cause?: { code?: string } }).cause
  if (cause?.code === 'ECONNREFUSED') return 'nothing answers there: is the node running?'
  if ((error as Error).name === 'TimeoutError') return 'it did not answer in time'
  return (error as Error).message
}
