import { hasSubtle, webCryptoSha512 } from './webcrypto'
import { loadNacl } from './load-nacl'

/** SHA-512 with WebCrypto where it exists (secure contexts), tweetnacl's otherwise. */
export async function sha512(bytes: Uint8Array): Promise<Uint8Array> {
  return hasSubtle() ? webCryptoSha512(bytes) : (await loadNacl()).naclSha512(bytes)
}
