import { join } from 'node:path'
import { openSqliteStore } from './sqlite/index'
import { openRedisStore } from './redis'
import type { Retention, Store } from './types'

export interface StoreSettings {
  /** Redis: replicas that must have an event before it is acknowledged (WAIT): default 1 on a Cluster, 0 on one Redis. */
  replicas?: number
  /** SQLite: other collector processes write to the same file (`--workers`). */
  shared?: boolean
  /** SQLite: its checkpoint thread stopped (checkpointer.ts); the store works on, checkpointing in the committing thread. */
  onCheckpointerError?: (err: Error) => void
}

/**
 * A SQLite store's URL: `sqlite:<path>`, and `?synchronous=full` for an fsync per commit
 * (an acknowledged event then survives power loss too; the default, normal, survives a killed
 * process: docs/decisions.md).
 */
export function parseSqliteUrl(spec: string): { path: string; synchronous: 'NORMAL' | 'FULL' } {
  const rest = spec.slice('sqlite:'.length)
  // Settings are a last `?name=value[&…]`; any other `?` belongs to the path.
  const settings = /\?([A-Za-z_]+=[^?&]*(?:&[A-Za-z_]+=[^?&]*)*)$/.exec(rest)
  const path = settings ? rest.slice(0, settings.index) : rest
  if (!path) throw new Error('VIGIL_STORE=sqlite: needs a path, e.g. sqlite:./data/vigil.db')
  let synchronous: 'NORMAL' | 'FULL' = 'NORMAL'
  for (const [name, value] of new URLSearchParams(settings?.[1] ?? '')) {
    if (name !== 'synchronous' || !/^(normal|full)$/i.test(value)) throw new Error(`VIGIL_STORE=${spec}: the one setting is synchronous=normal|full, not ${name}=${value}`)
    synchronous = value.toUpperCase() as 'NORMAL' | 'FULL'
  }
  return { path, synchronous }
}

/**
 * Opens the store a VIGIL_STORE URL names: `sqlite:<path>[?synchronous=full]` (default
 * `sqlite:<dataDir>/vigil.db`) or, for several instances, `redis://host:port[/db]`, or a
 * Redis Cluster by its seed nodes: `redis+cluster://host:port[,host:port…]`.
 */
export async function openStore(url: string | undefined, dataDir: string, now?: () => number, retention?: Partial<Retention>, options: StoreSettings = {}): Promise<Store> {
  const spec = url && url.length > 0 ? url : `sqlite:${join(dataDir, 'vigil.db')}`
  if (spec.startsWith('sqlite:')) {
    const { path, synchronous } = parseSqliteUrl(spec)
    return openSqliteStore({
      path,
      synchronous,
      ...(now ? { now } : {}),
      ...(retention ? { retention } : {}),
      ...(options.shared ? { shared: true } : {}),
      ...(options.onCheckpointerError ? { checkpoints: { onError: options.onCheckpointerError } } : {}),
    })
  }
  if (/^(redis|rediss|redis\+cluster):\/\//.test(spec)) {
    return openRedisStore({ url: spec, ...(now ? { now } : {}), ...(retention ? { retention } : {}), ...(options.replicas !== undefined ? { replicas: options.replicas } : {}) })
  }
  throw new Error(`unsupported VIGIL_STORE: ${spec} (use sqlite:<path>, redis://host:port or redis+cluster://host:port,host:port)`)
}
