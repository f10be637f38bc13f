// The test supports' own guard against a port taken between choosing it and binding it.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { freePorts } from '../support/ports'
import { hasRedisServer, spawnRedis, startRedis } from '../support/redis'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function squat(): Promise<number> {
  const server: Server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as { port: number }).port
}

describe('test servers', () => {
  it('chooses distinct ports in one batch', async () => {
    const ports = await freePorts(24)
    expect(new Set(ports).size).toBe(24)
  })

  it.skipIf(!hasRedisServer())('a redis-server that cannot bind its port is reported, not mistaken for the squatter', async () => {
    const port = await squat()
    const dir = mkdtempSync(join(tmpdir(), 'vigil-squat-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    expect(await spawnRedis(dir, port, [])).toBeNull()
    await expect(startRedis({ port })).rejects.toThrow(`redis-server did not start on port ${port}`)
  })

  it.skipIf(!hasRedisServer())('another redis-server on the port is not taken for ours', async () => {
    const other = await startRedis()
    cleanups.push(() => other.stop())
    const dir = mkdtempSync(join(tmpdir(), 'vigil-squat-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    expect(await spawnRedis(dir, other.port, [])).toBeNull()
  })
})
