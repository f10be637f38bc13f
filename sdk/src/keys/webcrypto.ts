/**
 * Ed25519 in WebCrypto: the private key is generated non-extractable, so page scripts
 * can use it to sign but can never read it out (Chromium 137+, Firefox 129+, Safari 17+).
 */

function subtle(): SubtleCrypto | undefined {
  // Missing in insecure contexts (plain http on a non-local host) and very old browsers.
  return typeof crypto !== 'undefined' && crypto.subtle ? crypto.subtle : undefined
}

export function hasSubtle(): boolean {
  return subtle() !== undefined
}

/** Resolves to null where Ed25519 is not supported. */
export async function generateWebCryptoKey(): Promise<{ privateKey: CryptoKey; publicKey: Uint8Array } | null> {
  const s = subtle()
  if (!s) return null
  try {
    const pair = (await s.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']))
    const raw = new Uint8Array(await s.exportKey('raw', pair.publicKey))
    if (raw.length !== 32 || pair.privateKey.extractable) return null
    return { privateKey: pair.privateKey, publicKey: raw }
  } catch {
    return null
  }
}

export async function webCryptoSign(privateKey: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle()!.sign({ name: 'Ed25519' }, privateKey, message as BufferSource))
}

export async function webCryptoSha512(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle()!.digest('SHA-512', bytes as BufferSource))
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle()!.digest('SHA-256', bytes as BufferSource))
}
