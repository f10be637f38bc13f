import { join } from 'node:path'
import { openSqliteStore } from './sqlite/index'
import { openRedisStore } from './redis'
import type { Retention, Store } from './types'

/**
 * Opens the store a VIGIL_STORE URL names: `sqlite:<path>` (default
 * `sqlite:<dataDir>/vigil.db`) or, for several instances, `redis://host:port[/db]`.
 */
export async function openStore(url: string | undefined, dataDir: string, now?: () => number, retention?: Partial<Retention>, options: { shared?: boolean } = {}): Promise<Store> {
  const spec = url && url.length > 0 ? url : `sqlite:${join(dataDir, 'vigil.db')}`
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length)
    if (!path) throw new Error('VIGIL_STORE=sqlite: needs a path, e.g. sqlite:./data/vigil.db')
    return openSqliteStore({ path, ...(now ? { now } : {}), ...(retention ? { retention } : {}), ...(options.shared ? { shared: true } : {}) })
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) return openRedisStore({ url: spec, ...(now ? { now } : {}), ...(retention ? { retention } : {}) })
  throw new Error(`unsupported VIGIL_STORE: ${spec} (use sqlite:<path> or redis://host:port)`)
}
