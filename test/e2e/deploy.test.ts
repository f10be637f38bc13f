/**
 * The deployment files (Dockerfile, deploy/). Docker cannot run on our CI machines, so this
 * checks what can be checked without it: the image runs as a non-root user with its data in
 * a volume and listens beyond loopback, its health check command passes against a live
 * collector and fails against a dead one, and the compose file wires two collectors, Redis,
 * nginx (deploy/nginx.conf) and Prometheus together. Then it runs that topology as
 * processes: Debian's nginx with deploy/nginx.conf in front of two collectors on one Redis,
 * each trusting one proxy hop, and checks that rate limits and linking see the client's
 * own address, whatever the client writes into X-Forwarded-For.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { parse } from 'yaml'
import { accountHashFromDigest, accountHashInput } from '@vigil-risk/core/protocol/payload'
import { startCli, type CliCollector } from '../support/cli'
import { startRedis, type RedisServer } from '../support/redis'
import { startNginx, type Nginx } from '../support/nginx'
import { TestDevice } from '../support/device'
import type { CollectEvent } from '../../collector-server/src/stores/types'
import { inOneRateWindow } from '../support/rate-window'

const DOCKERFILE = readFileSync('Dockerfile', 'utf8').replace(/\\\n\s*/g, ' ')
/** The instructions of the image's last stage (what runs). */
const RUNTIME = DOCKERFILE.slice(DOCKERFILE.lastIndexOf('\nFROM ')).split('\n').filter((l) => /^[A-Z]+ /.test(l))
const instruction = (name: string) => RUNTIME.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim())

const running: CliCollector[] = []
afterEach(async () => {
  for (const c of running.splice(0)) await c.kill()
})

describe('the container image (Dockerfile)', () => {
  it('runs as a non-root user, keeps its data in a volume, and listens on every interface', () => {
    expect(instruction('USER')).toEqual(['node'])
    expect(instruction('VOLUME')).toEqual(['["/data"]'])
    const env = instruction('ENV').join(' ')
    expect(env).toMatch(/\bVIGIL_DATA_DIR=\/data\b/)
    expect(env).toMatch(/\bHOST=0\.0\.0\.0\b/)
    expect(instruction('ENTRYPOINT')).toEqual(['["vigil-collector"]'])
    // It installs the packed packages, as the pack-and-install test does.
    expect(DOCKERFILE).toMatch(/npm pack -w sdk -w collector-server/)
    expect(DOCKERFILE).toMatch(/npm install --omit=dev [^\n]*\/tmp\/packages\/\*\.tgz/)
  })

  it('its health check passes against a live collector and fails against a dead one', async () => {
    const [healthcheck] = instruction('HEALTHCHECK')
    const cmd = JSON.parse(/CMD (\[.*\])$/.exec(healthcheck!)![1]!) as string[]
    expect(cmd[0]).toBe('node')
    const collector = await startCli(['--data-dir', mkdtempSync(join(tmpdir(), 'vigil-deploy-'))])
    running.push(collector)
    const port = new URL(collector.url).port
    const check = () => spawnSync(process.execPath, cmd.slice(1), { env: { ...process.env, PORT: port }, timeout: 10_000 }).status
    expect(check()).toBe(0)
    await collector.stop()
    expect(check()).toBe(1)
  })
})

describe('the compose file (deploy/compose.yaml)', () => {
  interface Service {
    image?: string
    build?: { context: string; dockerfile: string }
    environment?: Record<string, string>
    volumes?: string[]
    ports?: string[]
    command?: string[]
  }
  const compose = parse(readFileSync('deploy/compose.yaml', 'utf8'), { merge: true }) as { services: Record<string, Service> }
  const { services } = compose

  it('runs two collectors from this Dockerfile on one Redis and one data volume', () => {
    expect(Object.keys(services).sort()).toEqual(['collector-a', 'collector-b', 'prometheus', 'proxy', 'redis'])
    for (const name of ['collector-a', 'collector-b']) {
      const c = services[name]!
      expect(c.build).toEqual({ context: '..', dockerfile: 'Dockerfile' })
      expect(c.environment).toMatchObject({ VIGIL_STORE: 'redis://redis:6379', VIGIL_TRUST_PROXY: '1' })
      expect(c.volumes).toEqual(['vigil-data:/data'])
      expect(c.command).toEqual(['--metrics-port', '9464', '--metrics-host', '0.0.0.0'])
    }
    expect(services['redis']!.command).toEqual(['redis-server', '--appendonly', 'yes'])
  })

  it('puts nginx, with deploy/nginx.conf, in front of both, and Prometheus scrapes both', () => {
    expect(services['proxy']!.image).toMatch(/^nginx:/)
    expect(services['proxy']!.volumes).toEqual(['./nginx.conf:/etc/nginx/nginx.conf:ro'])
    const nginx = readFileSync('deploy/nginx.conf', 'utf8')
    expect([...nginx.matchAll(/^\s*server (collector-[ab]:8080);/gm)].map((m) => m[1])).toEqual(['collector-a:8080', 'collector-b:8080'])
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/)
    expect(services['prometheus']!.volumes).toEqual(['./prometheus.yml:/etc/prometheus/prometheus.yml:ro'])
    const prometheus = parse(readFileSync('deploy/prometheus.yml', 'utf8')) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> }
    expect(prometheus.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['collector-a:9464', 'collector-b:9464'])
  })
})

describe('the compose topology as processes: nginx, two collectors, Redis', () => {
  const SITE = {
    siteKey: 'shop',
    secret: randomBytes(32).toString('base64url'),
    origins: ['http://127.0.0.1:*'],
    // Six requests a minute per client: the linking test below makes exactly six.
    policy: { rateLimits: { ipPerMinute: 6 }, limits: { accountsPerIp: 3 } },
  }
  const ORIGIN = 'http://127.0.0.1:3000'
  let redis: RedisServer
  let collectors: CliCollector[]
  let nginx: Nginx

  beforeAll(async () => {
    redis = await startRedis()
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-topology-'))
    writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [SITE] }))
    // As in deploy/compose.yaml: one data directory, one Redis, one trusted hop, metrics on their own port.
    const env = { VIGIL_STORE: redis.url, VIGIL_TRUST_PROXY: '1' }
    const args = ['--data-dir', dataDir, '--metrics-port', '0']
    collectors = await Promise.all([startCli(args, env), startCli(args, env)])
    nginx = await startNginx('deploy/nginx.conf', { 'collector-a:8080': new URL(collectors[0]!.url).host, 'collector-b:8080': new URL(collectors[1]!.url).host })
  }, 60_000)
  afterAll(async () => {
    await nginx?.stop()
    for (const c of collectors ?? []) await c.stop()
    await redis?.stop()
  })

  /** A request through nginx from `client` (a loopback address), claiming to be `forged` in X-Forwarded-For. */
  function send(client: string, path: string, forged: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const url = new URL(path, nginx.url)
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: payload ? 'POST' : 'GET', localAddress: client, headers: { origin: ORIGIN, 'x-forwarded-for': forged, ...(payload ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          let text = ''
          res.on('data', (d: Buffer) => (text += d.toString()))
          res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) as Record<string, unknown> }))
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  }

  it('rate-limits the client, not the address it claims: forged X-Forwarded-For entries share one bucket', async () => {
    const statuses: number[] = []
    await inOneRateWindow()
    for (let i = 1; i <= 8; i++) statuses.push((await send('127.0.0.2', '/v1/challenge?siteKey=shop', `198.51.100.${i}`)).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429])
    // Another client is its own bucket, whatever it claims.
    expect((await send('127.0.0.3', '/v1/challenge?siteKey=shop', '198.51.100.1')).status).toBe(200)
    // Both collectors answered (round robin), and counted together in Redis.
    for (const c of collectors) {
      const metricsUrl = /metrics {5}(http:\/\/\S+\/metrics)/.exec(c.output())![1]!
      const metrics = await (await fetch(metricsUrl)).text()
      expect(metrics).toMatch(/vigil_http_requests_total\{[^}]*route="\/v1\/challenge"[^}]*\} [1-9]/)
    }
    // nginx keeps metrics off the public side.
    expect((await fetch(`${nginx.url}/metrics`)).status).toBe(404)
  })

  it("links accounts by the client's address: three accounts from one client under three forged addresses", async () => {
    const events: CollectEvent[] = []
    const client = '127.0.0.4'
    for (const [i, account] of ['ann@example.com', 'bob@example.com', 'cy@example.com'].entries()) {
      const forged = `203.0.113.${i + 1}`
      const { json: challenge } = await send(client, '/v1/challenge?siteKey=shop', forged)
      const salt = challenge['accountSalt'] as string
      const hash = accountHashFromDigest(createHash('sha512').update(accountHashInput(salt, account)).digest())
      const body = new TestDevice().body(challenge['challenge'] as string, { siteKey: 'shop', hostname: '127.0.0.1', action: 'login', account: hash })
      const res = await send(client, '/v1/collect', forged, body)
      expect(res.status, JSON.stringify(res.json)).toBe(200)
    }
    const r = new Redis(redis.url)
    try {
      for (const [, fields] of await r.xrange('vigil:events', '-', '+')) events.push(JSON.parse(fields[fields.indexOf('event') + 1]!) as CollectEvent)
    } finally {
      r.disconnect()
    }
    const mine = events.filter((e) => e.action === 'login')
    expect(mine.map((e) => e.ip)).toEqual([client, client, client])
    expect(mine.map((e) => (e.detail['velocity'] as Record<string, number>)['accountsPerIp1h'])).toEqual([1, 2, 3])
    expect(mine[2]!.reasons).toContain('click_farm')
  })
})
