/**
 * Group commit for SQLite. Every write joins one open transaction (BEGIN on the first
 * write), which commits at the end of the event-loop turn in which someone asks for
 * durability (`durable()`: a collect's event, an erasure), or HOLD_MS after it opened when
 * nobody does (a rate-limit count, a spent nonce of a refused collect: the store contract
 * asks callers to call durable() where a crash must not forget a write). So N concurrent
 * collects cost one commit instead of one each, and one collect whose writes span several
 * turns (it waits for its scoring thread between them) costs one, not one per turn: each
 * commit writes every page it changed to the WAL, a page and a system call at a time.
 * Writes run at once, inside the batch; `durable()` resolves only after the COMMIT that
 * makes everything written so far durable, so an answer is never sent before what it
 * reports is stored.
 */
import type Database from 'better-sqlite3'
import { StoreUnavailableError } from '../types'

/** What GroupCommit needs of a database: exec, for BEGIN/COMMIT/ROLLBACK. */
type Exec = Pick<Database.Database, 'exec'>

/** A batch nobody asked to be durable commits this long after its first write (ms). */
export const HOLD_MS = 10

export class GroupCommit {
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> | null = null
  /** The open batch's commit is scheduled for the end of this turn. */
  private scheduled = false
  private holding: { cancel(): void } | null = null
  /** Work that must run outside a transaction, held until the open batch commits. */
  private afterCommit: Array<() => void> = []
  constructor(
    private readonly db: Exec,
    /** Runs the commit at the end of this turn (tests drive it by hand). */
    private readonly schedule: (commit: () => void) => void = setImmediate,
    /**
     * Other processes write to the same file (`--workers`): a batch held open across event-loop
     * turns would hold SQLite's one write lock through other requests' CPU work while they
     * wait for it. Each `run` is then its own transaction, committed at once.
     */
    private readonly shared = false,
    /** Runs the commit of a batch nobody waits for, later (default: HOLD_MS from now; it keeps no process alive). */
    private readonly hold: (commit: () => void) => { cancel(): void } = (commit) => {
      const timer = setTimeout(commit, HOLD_MS).unref()
      return { cancel: () => clearTimeout(timer) }
    },
  ) {}

  /** Runs `fn` inside the open batch, opening one if none is. */
  run<T>(fn: () => T): T {
    if (this.shared) return this.runAlone(fn)
    if (!this.waiters) {
      this.db.exec('BEGIN IMMEDIATE')
      this.waiters = []
      this.holding = this.hold(() => this.commit())
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
    if (!this.scheduled) {
      this.scheduled = true
      this.schedule(() => this.commit())
    }
    const waiters = this.waiters
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }))
  }

  /** Runs `fn` when no batch is open: now, or right after the open one commits. */
  between(fn: () => void): void {
    if (this.waiters) this.afterCommit.push(fn)
    else fn()
  }

  private commit(): void {
    // A hold that fires after a durable() commit, or the other way round: nothing is open.
    if (!this.waiters) return
    const waiters = this.waiters
    this.waiters = null
    this.scheduled = false
    this.holding?.cancel()
    this.holding = null
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
