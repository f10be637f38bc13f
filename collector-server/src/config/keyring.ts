/**
 * The collector's own secrets, kept in VIGIL_DATA_DIR/keys so that every instance
 * started on the same directory signs and checks alike:
 *  - token-signing keys (Ed25519, published as a JWKS; the kid is the RFC 7638 thumbprint),
 *  - the challenge MAC key (HMAC-SHA256),
 *  - the account key (sites' account salts and link keys).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { createOnce, replaceFile } from './files'
import type { Jwk, Jwks } from 'vigil/verify'

type KeyStatus = 'active' | 'retiring'

export interface StoredSigningKey {
  kid: string
  status: KeyStatus
  createdAt: string
  /** Private JWK (OKP / Ed25519: crv, x, d). */
  jwk: { kty: 'OKP'; crv: 'Ed25519'; x: string; d: string }
}

export interface SigningKey {
  kid: string
  status: KeyStatus
  privateKey: KeyObject
  publicKey: KeyObject
  publicJwk: Jwk
}

export interface Keyring {
  /** The key new tokens are signed with. */
  active: SigningKey
  /** Every key whose tokens still verify (active first). */
  all: SigningKey[]
  jwks: Jwks
  challengeKey: Buffer
}

/** RFC 7638 thumbprint of an Ed25519 public key. */
export function thumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url')
}

export function generateSigningKey(now = new Date()): StoredSigningKey {
  const { privateKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string }
  return { kid: thumbprint(jwk.x), status: 'active', createdAt: now.toISOString(), jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d } }
}

function toSigningKey(stored: StoredSigningKey): SigningKey {
  const privateKey = createPrivateKey({ key: stored.jwk, format: 'jwk' })
  const publicKey = createPublicKey(privateKey)
  const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x
  if (thumbprint(x) !== stored.kid) throw new Error(`signing key ${stored.kid}: kid is not the key's thumbprint`)
  return { kid: stored.kid, status: stored.status, privateKey, publicKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid: stored.kid, alg: 'EdDSA', use: 'sig' } }
}

export const signingKeysPath = (dataDir: string): string => join(dataDir, 'keys', 'signing-keys.json')
const challengeKeyPath = (dataDir: string): string => join(dataDir, 'keys', 'challenge.key')
const accountKeyPath = (dataDir: string): string => join(dataDir, 'keys', 'account.key')

/**
 * The data directory's account key: 32 random bytes from which each site's public account
 * salt and its private link key derive (config/sites.ts). Shared by every instance on the
 * directory; replacing it changes every salt, so account links start over.
 */
export function loadAccountSecret(dataDir: string): Buffer {
  const key = Buffer.from(createOnce(accountKeyPath(dataDir), () => randomBytes(32).toString('base64url') + '\n').trim(), 'base64url')
  if (key.length < 32) throw new Error('keys/account.key must hold at least 32 bytes')
  return key
}

export function parseSigningKeys(text: string): StoredSigningKey[] {
  const parsed = JSON.parse(text) as { keys?: StoredSigningKey[] }
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new Error('signing-keys.json holds no keys')
  return parsed.keys
}

export function keyringFrom(stored: StoredSigningKey[], challengeKey: Buffer): Keyring {
  const all = stored.map(toSigningKey).sort((a, b) => (a.status === b.status ? 0 : a.status === 'active' ? -1 : 1))
  const active = all[0]
  if (!active || active.status !== 'active') throw new Error('no active signing key')
  if (all.filter((k) => k.status === 'active').length > 1) throw new Error('more than one active signing key')
  if (challengeKey.length < 32) throw new Error('challenge key must be at least 32 bytes')
  return { active, all, jwks: { keys: all.map((k) => k.publicJwk) }, challengeKey }
}

/** Loads the keyring from the data directory, generating what is missing on first start. */
export function loadKeyring(dataDir: string): Keyring {
  const signing = createOnce(signingKeysPath(dataDir), () => JSON.stringify({ keys: [generateSigningKey()] }, null, 2) + '\n')
  const challenge = createOnce(challengeKeyPath(dataDir), () => randomBytes(32).toString('base64url') + '\n')
  return keyringFrom(parseSigningKeys(signing), Buffer.from(challenge.trim(), 'base64url'))
}

/** Makes a new active key; the old active key keeps verifying (retiring) until retired. */
export function rotateSigningKey(dataDir: string): { added: string; retiring: string[] } {
  const path = signingKeysPath(dataDir)
  const keys = parseSigningKeys(createOnce(path, () => JSON.stringify({ keys: [generateSigningKey()] })))
  const fresh = generateSigningKey()
  const retiring = keys.filter((k) => k.status === 'active').map((k) => k.kid)
  const next = [fresh, ...keys.map((k) => ({ ...k, status: 'retiring' as const }))]
  replaceFile(path, JSON.stringify({ keys: next }, null, 2) + '\n')
  return { added: fresh.kid, retiring }
}

/** Drops a retiring key: tokens signed with it stop verifying. */
export function retireSigningKey(dataDir: string, kid: string): void {
  const path = signingKeysPath(dataDir)
  const keys = parseSigningKeys(createOnce(path, () => JSON.stringify({ keys: [generateSigningKey()] })))
  const target = keys.find((k) => k.kid === kid)
  if (!target) throw new Error(`no key ${kid}`)
  if (target.status === 'active') throw new Error(`key ${kid} is active: rotate first`)
  replaceFile(path, JSON.stringify({ keys: keys.filter((k) => k.kid !== kid) }, null, 2) + '\n')
}
