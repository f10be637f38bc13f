/**
 * The tweetnacl fallback, loaded lazily (its own chunk) only on browsers without
 * WebCrypto Ed25519, so most visitors never download it.
 */
import nacl from 'tweetnacl'

export function naclKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return nacl.sign.keyPair()
}

export function naclSign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(message, secretKey)
}

export function naclSha512(bytes: Uint8Array): Uint8Array {
  return nacl.hash(bytes)
}
