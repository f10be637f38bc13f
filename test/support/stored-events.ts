/** Whether acknowledged collects really were stored: the events behind demo-site tokens, looked up by jti. */
import { openStore } from '../../collector-server/src/stores/index'
import { jwksResolver, verifyToken, type Jwks } from '../../verify/src/index'

/** How many of these demo-site tokens have their event in the store `storeUrl` names (default: the data directory's SQLite). */
export async function countStoredEvents(tokens: readonly string[], jwks: Jwks, storeUrl: string | undefined, dataDir: string): Promise<number> {
  const store = await openStore(storeUrl, dataDir)
  const keys = jwksResolver(jwks)
  let found = 0
  try {
    for (const token of tokens) {
      const { jti } = await verifyToken(token, { secret: 'demo-secret', siteKey: 'demo', jwks: keys, action: null, hostname: null })
      if (await store.events.get(jti)) found++
    }
  } finally {
    await store.close()
  }
  return found
}
