/** A private redis-server on a loopback port, append-only file on, for tests and benchmarks. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePorts } from './ports'

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
  try {
    if (options.port === undefined) {
      const { port, proc } = await spawnOnFreePorts(dir, 0, () => options.args ?? [])
      return handle(proc, port, dir, options.dir === undefined)
    }
    // A port the caller gave is not chosen again.
    const proc = await spawnRedis(dir, options.port, options.args ?? [])
    if (!proc) throw new Error(`redis-server did not start on port ${options.port}: ${logTail(dir)}`)
    return handle(proc, options.port, dir, options.dir === undefined)
  } catch (err) {
    if (!options.dir) rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

export type RunningRedis = { child: ChildProcess; exited: Promise<void> }

/**
 * redis-server in `dir` on a port chosen now, with `extra` more ports for `args` (a cluster's
 * bus). A free port can be taken between our choice and redis-server's bind (tests start
 * servers in parallel): then our server exits, or the probe reaches another one, and new
 * ports are chosen, up to three times.
 */
export async function spawnOnFreePorts(dir: string, extra: number, args: (extraPorts: number[]) => string[]): Promise<{ port: number; extraPorts: number[]; proc: RunningRedis }> {
  for (let attempt = 1; ; attempt++) {
    const [port, ...extraPorts] = (await freePorts(1 + extra)) as [number, ...number[]]
    const proc = await spawnRedis(dir, port, args(extraPorts))
    if (proc) return { port, extraPorts, proc }
    if (attempt === 3) throw new Error(`redis-server did not start on port ${port}${extra > 0 ? ` (and ${extraPorts.join(', ')})` : ''}: ${logTail(dir)}`)
  }
}

/** The end of a server's log, for an error message. */
export function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').trim().split('\n').slice(-5).join('\n')
  } catch {
    return '(no log)'
  }
}

/** The server, once it answers on `port` from `dir`; null if it exited, or if another server answers there. */
export async function spawnRedis(dir: string, port: number, args: string[]): Promise<RunningRedis | null> {
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

function handle({ child, exited }: RunningRedis, port: number, dir: string, ownDir: boolean): RedisServer {
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
