/** GroupCommit on its own: one transaction until durability is asked for, durable() after COMMIT, failures reach every waiter. */
import { describe, expect, it } from 'vitest'
import { GroupCommit, HOLD_MS } from '../src/stores/sqlite/group-commit'
import { StoreUnavailableError } from '../src/stores/types'

function fakeDb(failCommit = false) {
  const log: string[] = []
  return {
    log,
    exec(sql: string) {
      log.push(sql)
      if (sql === 'COMMIT' && failCommit) throw new Error('disk I/O error')
      return this as never
    },
  }
}

function manual() {
  const pending: Array<() => void> = []
  return { schedule: (fn: () => void) => void pending.push(fn), flush: () => pending.splice(0).forEach((fn) => fn()) }
}

/** A batch whose end-of-turn commits and holds the test runs by hand (a hold records whether it was cancelled). */
function heldBatch() {
  const db = fakeDb()
  const clock = manual()
  const holds: Array<{ commit: () => void; cancelled: boolean }> = []
  const hold = (commit: () => void) => {
    const h = { commit, cancelled: false }
    holds.push(h)
    return { cancel: () => void (h.cancelled = true) }
  }
  return { db, clock, holds, batch: new GroupCommit(db, clock.schedule, false, hold) }
}

describe('GroupCommit', () => {
  it('runs every write of a turn in one transaction and resolves durable() only after COMMIT', async () => {
    const db = fakeDb()
    const clock = manual()
    const batch = new GroupCommit(db, clock.schedule)
    expect(batch.run(() => 1)).toBe(1)
    expect(batch.run(() => 2)).toBe(2)
    let durable = false
    const waiting = batch.durable().then(() => (durable = true))
    await Promise.resolve()
    expect(durable).toBe(false)
    expect(db.log).toEqual(['BEGIN IMMEDIATE'])
    clock.flush()
    await waiting
    expect(durable).toBe(true)
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT'])
    // The next write opens the next batch.
    batch.run(() => 3)
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT', 'BEGIN IMMEDIATE'])
  })

  it('keeps one batch open across turns until durability is asked for', async () => {
    // A collect writes, waits for its scoring thread (a turn or more), writes again, then
    // waits for its event to be durable: one commit, not one per turn.
    const { db, clock, holds, batch } = heldBatch()
    batch.run(() => 'nonce')
    clock.flush() // the turn ends: nothing asked for durability
    batch.run(() => 'event')
    expect(db.log).toEqual(['BEGIN IMMEDIATE'])
    const waiting = batch.durable()
    clock.flush()
    await waiting
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT'])
    expect(holds.map((h) => h.cancelled)).toEqual([true])
  })

  it('commits a batch nobody waits for when its hold ends', async () => {
    const { db, clock, holds, batch } = heldBatch()
    batch.run(() => 'rate limit')
    clock.flush()
    expect(db.log).toEqual(['BEGIN IMMEDIATE'])
    holds[0]!.commit()
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT'])
    // A late durable-commit and a late hold find nothing open, and commit nothing.
    holds[0]!.commit()
    await batch.durable()
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT'])
  })

  it('commits within HOLD_MS with the default hold', async () => {
    const db = fakeDb()
    const batch = new GroupCommit(db)
    batch.run(() => 1)
    await new Promise((r) => setTimeout(r, HOLD_MS * 3 + 20))
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT'])
  })

  it('is durable at once when nothing is pending', async () => {
    await expect(new GroupCommit(fakeDb(), manual().schedule).durable()).resolves.toBeUndefined()
  })

  it('rolls back a failed COMMIT and rejects every waiter with StoreUnavailableError', async () => {
    const db = fakeDb(true)
    const clock = manual()
    const batch = new GroupCommit(db, clock.schedule)
    batch.run(() => undefined)
    const a = batch.durable()
    const b = batch.durable()
    clock.flush()
    await expect(a).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(b).rejects.toThrow(/commit failed: disk I\/O error/)
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT', 'ROLLBACK'])
  })

  it('shared with other processes: each run is its own transaction, committed before it returns', async () => {
    const db = fakeDb()
    const clock = manual()
    const batch = new GroupCommit(db, clock.schedule, true)
    expect(batch.run(() => 1)).toBe(1)
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT'])
    await batch.durable()
    expect(() => batch.run(() => {
      throw new Error('constraint')
    })).toThrow('constraint')
    expect(db.log.slice(2)).toEqual(['BEGIN IMMEDIATE', 'ROLLBACK'])
    const failing = new GroupCommit(fakeDb(true), clock.schedule, true)
    expect(() => failing.run(() => 1)).toThrow(StoreUnavailableError)
    // SQLite already rolled back (ROLLBACK itself fails): the write's own error is reported.
    const rolledBack = new GroupCommit({ exec: (sql: string) => { if (sql === 'ROLLBACK') throw new Error('no transaction is active') } } as never, clock.schedule, true)
    expect(() => rolledBack.run(() => {
      throw new Error('disk I/O error')
    })).toThrow('disk I/O error')
  })

  it('between(): runs at once outside a batch, and right after the COMMIT inside one', () => {
    const db = fakeDb()
    const clock = manual()
    const batch = new GroupCommit(db, clock.schedule)
    batch.between(() => db.log.push('outside'))
    batch.run(() => 1)
    batch.between(() => db.log.push('checkpoint'))
    expect(db.log).toEqual(['outside', 'BEGIN IMMEDIATE'])
    void batch.durable()
    clock.flush()
    expect(db.log).toEqual(['outside', 'BEGIN IMMEDIATE', 'COMMIT', 'checkpoint'])
  })
})
