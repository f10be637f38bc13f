/**
 * The device's Ed25519 key: created once, kept in IndexedDB, used to sign every
 * payload. It proves continuity (the same device across requests) and payload
 * integrity, not honesty; see docs/protocol.md.
 *
 * Preference order:
 *  1. WebCrypto Ed25519, non-extractable, stored in IndexedDB;
 *  2. tweetnacl (lazy chunk), stored in IndexedDB, or in localStorage where
 *     IndexedDB is unavailable (continuity matters more than non-extractability);
 *  3. WebCrypto key kept in memory for this page only (`persisted: false`).
 */
import { deviceIdFromDigest, deviceIdInput } from '@vigil-risk/core/protocol/payload'
import type { KeyImpl } from '@vigil-risk/core/protocol/schema'
import { fromBase64url, toBase64url } from '@vigil-risk/core/protocol/base64url'
import { VigilError } from '../errors'
import { openIdbStore, type KeyValueStore } from './idb'
import { generateWebCryptoKey, webCryptoSign } from './webcrypto'
import { sha512 } from './hash'
import { loadNacl } from './load-nacl'

export interface DeviceKey {
  readonly id: string
  /** Raw public key, base64url. */
  readonly pub: string
  readonly impl: KeyImpl
  readonly persisted: boolean
  sign(message: Uint8Array): Promise<Uint8Array>
}

type StoredKey =
  | { v: 1; impl: 'webcrypto'; id: string; pub: Uint8Array; privateKey: CryptoKey }
  | { v: 1; impl: 'tweetnacl'; id: string; pub: Uint8Array; secretKey: Uint8Array }

const RECORD_KEY = 'device'
const LOCAL_STORAGE_KEY = 'vigil.device.v1'

async function deviceId(publicKey: Uint8Array): Promise<string> {
  return deviceIdFromDigest(await sha512(deviceIdInput(publicKey)))
}

async function createWebCrypto(): Promise<StoredKey | null> {
  const generated = await generateWebCryptoKey()
  if (!generated) return null
  const id = await deviceId(generated.publicKey)
  return { v: 1, impl: 'webcrypto', id, pub: generated.publicKey, privateKey: generated.privateKey }
}

async function createNacl(): Promise<StoredKey> {
  const pair = (await loadNacl()).naclKeyPair()
  const id = await deviceId(pair.publicKey)
  return { v: 1, impl: 'tweetnacl', id, pub: pair.publicKey, secretKey: pair.secretKey }
}

function isStoredKey(value: unknown): value is StoredKey {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Partial<Record<string, unknown>>
  if (r['v'] !== 1 || typeof r['id'] !== 'string' || !(r['pub'] instanceof Uint8Array)) return false
  if (r['impl'] === 'webcrypto') return typeof CryptoKey !== 'undefined' && r['privateKey'] instanceof CryptoKey
  return r['impl'] === 'tweetnacl' && r['secretKey'] instanceof Uint8Array && r['secretKey'].length === 64
}

function toDeviceKey(record: StoredKey, persisted: boolean): DeviceKey {
  const base = { id: record.id, pub: toBase64url(record.pub), impl: record.impl, persisted }
  if (record.impl === 'webcrypto') {
    const { privateKey } = record
    return { ...base, sign: (message) => webCryptoSign(privateKey, message) }
  }
  const { secretKey } = record
  return { ...base, sign: async (message) => (await loadNacl()).naclSign(message, secretKey) }
}

/** localStorage holds only tweetnacl keys: CryptoKeys cannot be serialised to text. */
function localStorageStore(): KeyValueStore<StoredKey> | null {
  let storage: Storage
  try {
    storage = window.localStorage
    const probe = LOCAL_STORAGE_KEY + '.probe'
    storage.setItem(probe, '1')
    storage.removeItem(probe)
  } catch {
    return null
  }
  const read = (): StoredKey | undefined => {
    try {
      const parsed = JSON.parse(storage.getItem(LOCAL_STORAGE_KEY) ?? 'null') as Record<string, string> | null
      if (!parsed || parsed['impl'] !== 'tweetnacl') return undefined
      const pub = fromBase64url(parsed['pub'] ?? '')
      const secretKey = fromBase64url(parsed['sk'] ?? '')
      const record = { v: 1, impl: 'tweetnacl', id: parsed['id'], pub, secretKey }
      return isStoredKey(record) ? record : undefined
    } catch {
      return undefined
    }
  }
  return {
    get: async () => read(),
    async addOrGet(_key, value) {
      const existing = read()
      if (existing) return existing
      if (value.impl !== 'tweetnacl') throw new Error('localStorage holds only tweetnacl keys')
      storage.setItem(
        LOCAL_STORAGE_KEY,
        JSON.stringify({ impl: value.impl, id: value.id, pub: toBase64url(value.pub), sk: toBase64url(value.secretKey) }),
      )
      return value
    },
  }
}

async function loadOrCreate(): Promise<DeviceKey> {
  const idb = await openIdbStore<StoredKey>()
  if (idb) {
    try {
      const existing = await idb.get(RECORD_KEY)
      if (isStoredKey(existing)) return toDeviceKey(existing, true)
      const created = (await createWebCrypto()) ?? (await createNacl())
      const stored = await idb.addOrGet(RECORD_KEY, created)
      if (isStoredKey(stored)) return toDeviceKey(stored, true)
    } catch {
      // Fall through to the stores below: a broken IndexedDB must not cost the token.
    }
  }
  const local = localStorageStore()
  if (local) {
    try {
      const existing = await local.get(RECORD_KEY)
      if (existing) return toDeviceKey(existing, true)
      return toDeviceKey(await local.addOrGet(RECORD_KEY, await createNacl()), true)
    } catch {
      // Storage full or revoked: keep an in-memory key for this page.
    }
  }
  try {
    return toDeviceKey((await createWebCrypto()) ?? (await createNacl()), false)
  } catch (cause) {
    throw new VigilError('crypto_unavailable', 'no Ed25519 implementation could be loaded', { cause })
  }
}

let shared: Promise<DeviceKey> | undefined

/** One key per page, however many clients `init` creates; retried if it failed before. */
export function getDeviceKey(): Promise<DeviceKey> {
  if (!shared) {
    shared = loadOrCreate()
    shared.catch(() => { shared = undefined })
  }
  return shared
}
