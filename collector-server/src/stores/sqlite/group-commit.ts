/**
 * Group commit for SQLite. Every write joins one transaction that is open for the rest of
 * the event-loop turn (BEGIN on the first write, COMMIT on setImmediate), so N concurrent
 * collects cost one commit instead of one each. Writes run at once, inside the batch;
 * `durable()` resolves only after the COMMIT that makes everything written so far
 * durable, so an answer is never sent before what it reports is stored.
 */
import type Database from 'better-sqlite3'
import { StoreUnavailableError } from '../types'

/** What GroupCommit needs of a database: exec, for BEGIN/COMMIT/ROLLBACK. */
type Exec = Pick<Database.Database, 'exec'>

export class GroupCommit {
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> | null = null
  /** Work that must run outside a transaction, held until the open batch commits. */
  private afterCommit: Array<() => void> = []
  constructor(
    private readonly db: Exec,
    /** When the batch commits (tests drive it by hand). */
    private readonly schedule: (commit: () => void) => void = setImmediate,
    /**
     * Other processes write to the same file (`--workers`): a batch held open for the rest of
     * the event-loop turn would hold SQLite's one write lock through other requests' CPU work
     * while they wait for it. Each `run` is then its own transaction, committed at once.
     */
    private readonly shared = false,
  ) {}

  /** Runs `fn` inside the open batch, opening one if none is. */
  run<T>(fn: () => T): T {
    if (this.shared) return this.runAlone(fn)
    if (!this.waiters) {
      this.db.exec('BEGIN IMMEDIATE')
      this.waiters = []
      this.schedule(() => this.commit())
    }
    return fn()
  }

  private runAlone<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE')
    let result: T
    try {
      result = fn()
    } catch (err) {
      this.rollbackQuietly()
      throw err
    }
    const failure = this.tryCommit()
    if (failure) throw failure
    return result
  }

  /** COMMIT; on failure rolls back and returns the error to report. */
  private tryCommit(): StoreUnavailableError | null {
    try {
      this.db.exec('COMMIT')
      return null
    } catch (err) {
      this.rollbackQuietly()
      return new StoreUnavailableError(`sqlite: commit failed: ${(err as Error).message}`, { cause: err })
    }
  }

  /** ROLLBACK, when SQLite has not already rolled back by itself (I/O error, full disk). */
  private rollbackQuietly(): void {
    try {
      this.db.exec('ROLLBACK')
    } catch {
      // Already rolled back: the error that caused it is the one to report.
    }
  }

  /** Resolves once the batch holding everything written so far is committed. */
  durable(): Promise<void> {
    if (!this.waiters) return Promise.resolve()
    const waiters = this.waiters
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }))
  }

  /** Runs `fn` when no batch is open: now, or right after the open one commits. */
  between(fn: () => void): void {
    if (this.waiters) this.afterCommit.push(fn)
    else fn()
  }

  private commit(): void {
    const waiters = this.waiters ?? []
    this.waiters = null
    const failure = this.tryCommit()
    for (const w of waiters) {
      if (failure) w.reject(failure)
      else w.resolve()
    }
    const after = this.afterCommit
    this.afterCommit = []
    for (const fn of after) fn()
  }
}
