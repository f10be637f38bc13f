/** A real collector on a loopback port with a fresh data directory, for end-to-end tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer, type RunningServer, type ServerOptions } from '../../collector-server/src/server'
import { demoPlugin } from '../../demo/server'

export interface TestCollector extends RunningServer {
  dataDir: string
}

export async function startTestCollector(options: ServerOptions = {}): Promise<TestCollector> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'vigil-test-'))
  const server = await startServer({ port: 0, host: '127.0.0.1', dataDir, plugins: [demoPlugin], ...options })
  return {
    ...server,
    dataDir,
    async close() {
      await server.close()
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
