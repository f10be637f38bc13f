/**
 * A private Redis Cluster on loopback ports, for tests: 3 masters and 3 replicas
 * (`redis-server --cluster-enabled yes`, joined by `redis-cli --cluster create
 * --cluster-replicas 1`), append-only files on, failure detected within a second
 * (`cluster-node-timeout 1000`, production uses 15 s) so that failover tests are quick.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import { redisTarget } from '../../collector-server/src/stores/redis'
import { hasRedisServer, logTail, spawnOnFreePorts, spawnRedis } from './redis'

const run = promisify(execFile)

/** Failure detection (ms): a master unreachable this long is failed over to its replica. */
const NODE_TIMEOUT_MS = 1000

interface ClusterNode {
  port: number
  dir: string
  /** A plain connection to this node alone (no redirections), for inspecting it. */
  client(): Redis
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>
  /** Starts it again on the same port, data directory and cluster config (it rejoins). */
  restart(): Promise<void>
  running(): boolean
}

export interface RedisClusterHandle {
  /** The store URL: `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` (every node is a seed). */
  url: string
  nodes: ClusterNode[]
  /** The node that serves `key`'s slot as master now. */
  masterOf(key: string): Promise<ClusterNode>
  /** Resolves once every slot is served, every node agrees, and every master has an online replica. */
  ready(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      last = `: ${(err as Error).message}`
    }
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} not within ${timeoutMs} ms${last}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function probeClient(port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 })
  client.on('error', () => undefined)
  return client
}

/** Runs `fn` on a short-lived connection to one node. */
async function onNode<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = probeClient(port)
  try {
    await c.connect()
    return await fn(c)
  } finally {
    c.disconnect()
  }
}

function clusterArgs(busPort: number): string[] {
  return ['--cluster-port', String(busPort), '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(NODE_TIMEOUT_MS)]
}

export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterHandle> {
  if (!hasRedisServer()) throw new Error('redis-server is not installed: apt-get install redis-server (it brings redis-cli).')
  const count = (options.masters ?? 3) * 2
  const nodes: ClusterNode[] = []
  const dirs: string[] = []
  try {
    // One at a time: a node that is up holds its ports, so the next choice cannot collide with it.
    for (let i = 0; i < count; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-'))
      dirs.push(dir)
      // The cluster bus listens on a port of its own (port + 10000 may not be free).
      const { port, extraPorts, proc: first } = await spawnOnFreePorts(dir, 1, ([bus]) => clusterArgs(bus!))
      const busPort = extraPorts[0]!
      let proc = first
      nodes.push({
        port,
        dir,
        client: () => probeClient(port),
        async kill() {
          if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL')
          await proc.exited
        },
        async restart() {
          // The same ports: the cluster knows the node by them (nodes.conf).
          const again = await spawnRedis(dir, port, clusterArgs(busPort))
          if (!again) throw new Error(`redis cluster: node ${port} did not start again: ${logTail(dir)}`)
          proc = again
        },
        running: () => proc.child.exitCode === null && proc.child.signalCode === null,
      })
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 })
  } catch (err) {
    for (const n of nodes) await n.kill()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
    throw err
  }

  const handle: RedisClusterHandle = {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    async masterOf(key) {
      const live = nodes.find((n) => n.running())
      if (!live) throw new Error('redis cluster: no node is running')
      return onNode(live.port, async (c) => {
        const slot = Number(await c.call('CLUSTER', 'KEYSLOT', key))
        const ranges = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>
        const range = ranges.find(([from, to]) => slot >= from && slot <= to)
        const node = nodes.find((n) => n.port === range?.[2][1])
        if (!node) throw new Error(`redis cluster: nobody serves slot ${slot}`)
        return node
      })
    },
    async ready(timeoutMs = 30_000) {
      await poll('every node to see the cluster ok', timeoutMs, async () => {
        for (const n of nodes.filter((x) => x.running())) {
          const info = await onNode(n.port, async (c) => String(await c.call('CLUSTER', 'INFO')))
          if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return undefined
        }
        return true
      })
      await poll('every master to have an online replica', timeoutMs, async () => {
        for (const n of nodes.filter((x) => x.running())) {
          const info = await onNode(n.port, (c) => c.info('replication'))
          if (info.includes('role:master') && !/slave0:.*state=online/.test(info)) return undefined
        }
        return true
      })
    },
    async stop() {
      await Promise.all(
        nodes.map(async (n) => {
          await n.kill()
        }),
      )
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    },
  }
  try {
    await handle.ready()
  } catch (err) {
    await handle.stop()
    throw err
  }
  return handle
}

/** A connected ioredis Cluster client for a `redis+cluster://` URL (the test's own reads). */
export async function connectCluster(url: string): Promise<Cluster> {
  const target = redisTarget(url)
  if (!target.cluster) throw new Error(`not a Cluster URL: ${url}`)
  const cluster = new Cluster(target.nodes, { lazyConnect: true })
  cluster.on('error', () => undefined)
  await cluster.connect()
  return cluster
}
