/**
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside the
 * COMMIT that takes the WAL past 1,000 pages, on the thread that commits. A collect writes
 * scattered index pages (about 45 WAL pages, docs/performance.md), so under load that was
 * every few commits, each one 6–20 ms during which no request moved. Here the committing
 * connection does not checkpoint by itself; a worker thread with its own connection to the
 * same file copies the WAL into the database every `intervalMs`, concurrently with the
 * writer (WAL mode allows it: a PASSIVE checkpoint waits for nobody).
 *
 * A WAL starts over from its beginning only when a write begins with every frame copied,
 * which a writer that never pauses rarely allows; and a checkpoint that waits for the
 * writer (RESTART) starves while the writer holds its lock from one commit to the next.
 * So when the thread finds the WAL at `restartPages` or longer, it tells the writer, and
 * the writer, between two commits, copies the pages written since the thread's pass
 * (not the whole log): its next write then starts the WAL over.
 *
 * Should the thread die, the writer's own automatic checkpoint comes back: the WAL stays
 * bounded either way.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'

export interface CheckpointerOptions {
  /** How often the thread checkpoints, ms (default 100). */
  intervalMs?: number
  /** The thread stopped without being asked (its error, or its exit code): SQLite checkpoints in the committing thread again. */
  onError?: (err: Error) => void
  /** The WAL's length, in pages, at which the writer is asked to let it start over (default 16,384: 64 MiB of 4 KiB pages; each restart is a copy of up to `intervalMs` of writes on the writer's thread, 6–9 ms under load, so a longer WAL restarts less often); a WAL that outgrew it is cut back to it when it starts over. */
  restartPages?: number
}

/** SQLite's own default, restored on the writer when the thread is gone. */
const AUTOCHECKPOINT_PAGES = 1000

/**
 * The thread's source, evaluated as CommonJS: a file beside this module would have to be
 * found in three layouts (sources under tsx, the bundle, an installed package); a string
 * travels with the code. It uses Node's modules and better-sqlite3 (resolved here) only.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path, { fileMustExist: true })
const timer = setInterval(() => {
  let pass
  try {
    // PASSIVE never waits: busy means another connection's checkpoint is running.
    ;[pass] = db.pragma('wal_checkpoint(PASSIVE)')
  } catch (err) {
    // Locked for a moment (another process recovering the WAL): the next tick tries again.
    // Anything else ends the thread, and the writer checkpoints by itself again.
    // better-sqlite3 reports extended codes (SQLITE_BUSY_RECOVERY…).
    if (/^SQLITE_(BUSY|LOCKED)/.test(err.code)) return
    throw err
  }
  if (pass.busy === 0 && pass.log >= workerData.restartPages) parentPort.postMessage(pass.log)
}, workerData.intervalMs)
parentPort.on('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

export class Checkpointer {
  private readonly worker: Worker
  private stopping = false
  private readonly exited: Promise<void>

  /**
   * @param between runs its callback when the writer holds no open transaction (a
   *   checkpoint cannot run inside one): GroupCommit.between.
   */
  constructor(db: Database.Database, path: string, between: (fn: () => void) => void, options: CheckpointerOptions = {}) {
    const restartPages = options.restartPages ?? 16_384
    db.pragma('wal_autocheckpoint = 0')
    // A WAL that a burst made long is cut back to this when it starts over.
    db.pragma(`journal_size_limit = ${restartPages * Number(db.pragma('page_size', { simple: true }))}`)
    this.worker = new Worker(THREAD, {
      eval: true,
      workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), path, intervalMs: options.intervalMs ?? 100, restartPages },
    })
    this.worker.on('message', () =>
      between(() => {
        // Copies what the thread has not yet; the next write starts the WAL over. Never throws
        // into a request: a busy or failed checkpoint is retried at the thread's next report.
        if (db.open) tryPragma(db, 'wal_checkpoint(PASSIVE)')
      }),
    )
    let failure: Error | null = null
    this.worker.on('error', (err: unknown) => void (failure = threadError(err)))
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        if (!this.stopping) {
          if (db.open) tryPragma(db, `wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`)
          options.onError?.(failure ?? new Error(`the checkpoint thread exited with code ${code}`))
        }
        resolve()
      }),
    )
    // Not a reason to keep the process alive: the store's close() stops it. After the
    // listeners: adding a 'message' listener refs the worker's port again.
    this.worker.unref()
  }

  /** Stops the thread and closes its connection; the writer's close then checkpoints what is left. */
  async stop(): Promise<void> {
    this.stopping = true
    // Waiting for it is a reason to stay alive: unreferenced, the process could end first.
    this.worker.ref()
    this.worker.postMessage('stop')
    await this.exited
  }
}

/** What a thread threw, as an Error: SQLite's errors cross the thread boundary as plain objects ({ code }). */
function threadError(err: unknown): Error {
  if (err instanceof Error) return err
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err)
  return new Error(`the checkpoint thread failed: ${code}`)
}

function tryPragma(db: Database.Database, pragma: string): void {
  try {
    db.pragma(pragma)
  } catch {
    // The store reports its own failures on the next write.
  }
}
