/**
 * The deployment files (Dockerfile, deploy/). Docker cannot run on our CI machines, so this
 * checks what can be checked without it: the image runs as a non-root user with its data in
 * a volume and listens beyond loopback, its health check command passes against a live
 * collector and fails against a dead one, and the compose file wires two collectors, Redis,
 * nginx (deploy/nginx.conf) and Prometheus together.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { startCli, type CliCollector } from '../support/cli'

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
    expect(prometheus.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['collector-a:8080', 'collector-b:8080'])
  })
})
