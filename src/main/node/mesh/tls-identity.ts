/**
 * The node's TLS key pair and self-signed certificate, made at its first start and kept in its
 * data directory. Chains are not checked (who may link is decided by the mesh secret); the
 * certificate only lets TLS 1.3 run, with the same identity from both ends of every link.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generate } from 'selfsigned'

export interface TlsIdentity {
  key: string
  cert: string
}

const KEY_FILE = 'peer-key.pem'
const CERT_FILE = 'peer-cert.pem'
const VALID_YEARS = 20

export async function loadOrCreateIdentity(dataDir: string, nodeId: string): Promise<TlsIdentity> {
  const keyPath = join(dataDir, KEY_FILE)
  const certPath = join(dataDir, CERT_FILE)
  if (existsSync(keyPath) && existsSync(certPath)) {
    return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') }
  }
  const now = new Date()
  const notAfter = new Date(now)
  notAfter.setFullYear(now.getFullYear() + VALID_YEARS)
  const pems = await generate([{ name: 'commonName', value: `palaver-${nodeId}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: notAfter,
  })
  writeFileSync(keyPath, pems.private, { mode: 0o600 })
  writeFileSync(certPath, pems.cert)
  return { key: pems.private, cert: pems.cert }
}
