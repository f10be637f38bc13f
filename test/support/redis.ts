/** A private redis-server on a loopback port, append-only file on, for tests and benchmarks. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './ports'

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

/** `args`: more redis-server options, e.g. `['--replicaof', '127.0.0.1', '6379']` for a replica. */
export async function startRedis(options: { dir?: string; port?: number; args?: string[] } = {}): Promise<RedisServer> {
  if (!hasRedisServer()) throw new Error('redis-server is not installed: apt-get install redis-server (npm test installs it on Debian when run as root).')
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'vigil-redis-'))
  // A free port can be taken between our check and redis-server's bind (tests start servers
  // in parallel): then our server exits, or the probe reaches another one. A port we chose
  // is chosen again; one the caller gave is an error.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort())
    const started = await spawnRedis(dir, port, options.args ?? [])
    if (started) return handle(started, port, dir, options.dir === undefined)
    if (options.port !== undefined || attempt === 3) {
      if (!options.dir) rmSync(dir, { recursive: true, force: true })
      throw new Error(`redis-server did not start on port ${port}`)
    }
  }
}

/** The server, once it answers on `port` from `dir`; null if it exited, or if another server answers there. */
export async function spawnRedis(dir: string, port: number, args: string[]): Promise<{ child: ChildProcess; exited: Promise<void> } | null> {
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--protected-mode', 'yes', '--logfile', join(dir, 'redis.log'), ...args],
    { stdio: 'ignore' },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => undefined)
  try {
    for (let i = 0; i <= 100 && child.exitCode === null; i++) {
      try {
        await probe.connect()
        const [, served] = (await probe.config('GET', 'dir')) as [string, string]
        if (samePath(served, dir)) return { child, exited }
        break // someone else's server on the port: ours could not bind it
      } catch {
        probe.disconnect()
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  } finally {
    probe.disconnect()
  }
  child.kill('SIGKILL')
  await exited
  return null
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b)
  } catch {
    return false
  }
}

function handle({ child, exited }: { child: ChildProcess; exited: Promise<void> }, port: number, dir: string, ownDir: boolean): RedisServer {
  const url = `redis://127.0.0.1:${port}`
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
      if (ownDir) rmSync(dir, { recursive: true, force: true })
    },
  }
}
