/** What every SQLite adapter shares: the database, the open batch, and the error mapping. */
import type Database from 'better-sqlite3'
import { StoreUnavailableError } from '../types'
import type { GroupCommit } from './group-commit'

export interface Sqlite {
  db: Database.Database
  batch: GroupCommit
  /** Current time, epoch ms. */
  now: () => number
}

/**
 * SQLite's own failures (busy, I/O, full disk) mean the store is unusable right now:
 * they become StoreUnavailableError (503). Constraint violations and programming errors
 * are bugs and surface as such.
 */
export function unavailable<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args)
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err
      const code = (err as { code?: unknown }).code
      if (typeof code !== 'string' || !code.startsWith('SQLITE_') || code.startsWith('SQLITE_CONSTRAINT')) throw err
      throw new StoreUnavailableError(`sqlite: ${(err as Error).message}`, { cause: err })
    }
  }
}
