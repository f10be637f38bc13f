/**
 * The smallest IndexedDB wrapper the device key needs: one object store, get and
 * add-if-absent. Every operation is bounded in time, because IndexedDB can hang
 * (a blocked upgrade, a wedged profile) and the SDK must not.
 */

const DB_NAME = 'vigil'
const STORE = 'keys'
const OP_TIMEOUT_MS = 1500

function settle<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'))
  })
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('IndexedDB timed out')), OP_TIMEOUT_MS)
    promise.then(
      (v) => { clearTimeout(timer); resolve(v) },
      (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))) },
    )
  })
}

export interface KeyValueStore<T> {
  get(key: string): Promise<T | undefined>
  /** Stores `value` unless `key` is already taken; returns whichever value is stored afterwards. */
  addOrGet(key: string, value: T): Promise<T>
}

/** Resolves to null where IndexedDB is missing or refuses to open (private modes, sandboxed frames). */
export async function openIdbStore<T>(): Promise<KeyValueStore<T> | null> {
  let db: IDBDatabase
  try {
    // Even reading `indexedDB` can throw (SecurityError in some sandboxed frames).
    if (typeof indexedDB === 'undefined' || indexedDB === null) return null
    const request = indexedDB.open(DB_NAME, 1)
    request.onupgradeneeded = () => request.result.createObjectStore(STORE)
    db = await withTimeout(settle(request))
  } catch {
    return null
  }
  const run = <R>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<R>): Promise<R> =>
    withTimeout(settle(op(db.transaction(STORE, mode).objectStore(STORE))))
  return {
    get: (key) => run('readonly', (s) => s.get(key) as IDBRequest<T | undefined>),
    async addOrGet(key, value) {
      try {
        await run('readwrite', (s) => s.add(value, key))
        return value
      } catch (err) {
        // Another tab created the key first: use theirs, so the device keeps one identity.
        if ((err as DOMException | null)?.name !== 'ConstraintError') throw err
        const stored = await run('readonly', (s) => s.get(key) as IDBRequest<T | undefined>)
        if (stored === undefined) throw err
        return stored
      }
    },
  }
}
