/**
 * The desktop app's node config: a JSON file in the user data folder, checked on every read
 * and written atomically (a crash mid-write never leaves half a file).
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import { meshNameSchema, peerAddrSchema } from '../shared/peer-protocol.ts'
import { DEFAULT_CLIENT_PORT, DEFAULT_PEER_PORT } from './node/options.ts'

export const nodeConfigSchema = z.object({
  name: z.string().trim().min(1).max(64),
  host: z.string().min(1).max(255),
  port: z.number().int().min(0).max(65_535),
  peerPort: z.number().int().min(0).max(65_535),
  mesh: meshNameSchema,
  secret: z.string().max(1024),
  token: z.string().max(1024),
  peers: z.array(peerAddrSchema).max(256),
  dataDir: z.string().min(1),
  /** Whether the node finds the nodes of its mesh on the LAN by itself (a file from before: on). */
  discovery: z.boolean().default(true),
})
export type NodeConfig = z.output<typeof nodeConfigSchema>

/** Random bytes in a mesh secret the app makes: 256 bits, far past guessing from a proof. */
const MESH_SECRET_BYTES = 32

/** A new random mesh secret: 32 bytes as base64url (43 characters). */
export function newMeshSecret(): string {
  return randomBytes(MESH_SECRET_BYTES).toString('base64url')
}

/** Random bytes in the name of the mesh a first run makes (`mesh-` and 8 hex digits). */
const MESH_NAME_BYTES = 4

/**
 * The config of the app's first run: a node named `name` that serves the LAN on the usual
 * ports, in a private mesh of its own (a random secret: others join it by invite). The mesh
 * gets a random name too: discovery tells meshes apart by the hash of their names, so two
 * machines that never shared an invite see each other as other meshes, and neither dials the
 * other only to be refused for a wrong secret.
 */
export function firstRunConfig(name: string, dataDir: string): NodeConfig {
  return {
    // The file is written at once, so every value must pass the schema: a host name can be long.
    name: name.trim().slice(0, 64) || 'Palaver',
    host: '0.0.0.0',
    port: DEFAULT_CLIENT_PORT,
    peerPort: DEFAULT_PEER_PORT,
    mesh: `mesh-${randomBytes(MESH_NAME_BYTES).toString('hex')}`,
    secret: newMeshSecret(),
    token: '',
    peers: [],
    dataDir,
    discovery: true,
  }
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads the config at `path`; `undefined` when there is none yet. @throws ConfigError */
export function readConfig(path: string): NodeConfig | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ConfigError(`${path} is not JSON`)
  }
  const result = nodeConfigSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new ConfigError(
      `${path}: ${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}`,
    )
  }
  return result.data
}

export function writeConfig(path: string, config: NodeConfig): void {
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 })
  renameSync(temporary, path)
}
