/**
 * Finding 6: vigil.db, -wal and -shm were created 0644 (world-readable IPs, device ids and
 * account hashes), safe only while the collector created the data directory itself.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer, type RunningServer } from '../src/server'
import { TestDevice } from '../../test/support/device'

const mode = (path: string) => statSync(path).mode & 0o777

let server: RunningServer | undefined
let root: string | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  if (root) rmSync(root, { recursive: true, force: true })
})

describe('data directory and database permissions', () => {
  it('tightens an existing world-readable data directory and an older readable database, and SQLite creates -wal and -shm owner-only', async () => {
    root = mkdtempSync(join(tmpdir(), 'vigil-perms-'))
    const dataDir = join(root, 'data')
    mkdirSync(dataDir)
    chmodSync(dataDir, 0o755)
    // What an older collector left behind.
    writeFileSync(join(dataDir, 'vigil.db'), '')
    chmodSync(join(dataDir, 'vigil.db'), 0o644)
    server = await startServer({ port: 0, dataDir, logger: false, demo: true })
    // A write, so that SQLite has created its WAL and shared-memory files.
    const { challenge } = (await (await fetch(`${server.url}/v1/challenge?siteKey=demo`)).json()) as { challenge: string }
    const res = await fetch(`${server.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(new TestDevice().body(challenge)) })
    expect(res.status).toBe(200)

    expect(mode(dataDir)).toBe(0o700)
    for (const file of ['vigil.db', 'vigil.db-wal', 'vigil.db-shm']) {
      expect(existsSync(join(dataDir, file)), file).toBe(true)
      expect(mode(join(dataDir, file)), file).toBe(0o600)
    }
    for (const file of ['sites.json', 'keys/signing-keys.json', 'keys/challenge.key']) expect(mode(join(dataDir, file)) & 0o077, file).toBe(0)
  })

  it('creates a database elsewhere than the data directory owner-only too', async () => {
    root = mkdtempSync(join(tmpdir(), 'vigil-perms-'))
    const dbPath = join(root, 'db', 'nested', 'events.db')
    server = await startServer({ port: 0, dataDir: join(root, 'data'), store: `sqlite:${dbPath}`, logger: false })
    expect(mode(join(root, 'db', 'nested'))).toBe(0o700)
    expect(mode(dbPath)).toBe(0o600)
  })
})
