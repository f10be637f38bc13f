/** A private redis-server on a loopback port, append-only file on, for tests and benchmarks. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

export interface RedisServer {
  url: string
  port: number
  dir: string
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>
  stop(): Promise<void>
}

export function hasRedisServer(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** `args`: more redis-server options, e.g. `['--replicaof', '127.0.0.1', '6379']` for a replica. */
export async function startRedis(options: { dir?: string; port?: number; args?: string[] } = {}): Promise<RedisServer> {
  if (!hasRedisServer()) throw new Error('redis-server is not installed: apt-get install redis-server (npm test installs it on Debian when run as root).')
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'vigil-redis-'))
  const port = options.port ?? (await freePort())
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--protected-mode', 'yes', '--logfile', join(dir, 'redis.log'), ...(options.args ?? [])],
    { stdio: 'ignore' },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `redis://127.0.0.1:${port}`
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => undefined)
  for (let i = 0; ; i++) {
    try {
      await probe.connect()
      await probe.ping()
      break
    } catch {
      if (i > 100 || child.exitCode !== null) {
        probe.disconnect()
        throw new Error(`redis-server did not start on port ${port}`)
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  probe.disconnect()
  return {
    url,
    port,
    dir,
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      if (!options.dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}
