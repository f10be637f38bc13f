/**
 * Debian's nginx, run as a test process with a configuration from deploy/: the upstream
 * servers and the listen address are rewritten to the test's ports, and the paths nginx
 * writes to (temporary files, logs, pid) go to a private directory. Nothing else changes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports'

export interface Nginx {
  url: string
  stop(): Promise<void>
}

function hasNginx(): boolean {
  return spawnSync('sh', ['-c', 'command -v nginx'], { stdio: 'ignore' }).status === 0
}

/** Runs `file` with `upstreams` (name:port as written in the file → the test's address) rewritten. */
export async function startNginx(file: string, upstreams: Record<string, string>): Promise<Nginx> {
  if (!hasNginx()) throw new Error('nginx is not installed: apt-get install nginx (.ci/run installs it)')
  const dir = mkdtempSync(join(tmpdir(), 'vigil-nginx-'))
  // Workers run as an unprivileged user when the tests run as root: they must reach the temp paths.
  chmodSync(dir, 0o755)
  const temp = join(dir, 'temp')
  mkdirSync(temp, { mode: 0o777 })
  chmodSync(temp, 0o777)
  let conf = readFileSync(file, 'utf8')
  for (const [from, to] of Object.entries(upstreams)) {
    if (!conf.includes(`server ${from};`)) throw new Error(`${file} has no upstream server ${from}`)
    conf = conf.split(`server ${from};`).join(`server ${to};`)
  }
  if (!/^\s*listen 80;$/m.test(conf)) throw new Error(`${file} does not listen on port 80`)
  const paths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${temp}/${t};`).join(' ')
  conf = conf.replace(/^http \{$/m, `http {\n  ${paths} access_log ${dir}/access.log;`)
  // The port was free when chosen; another process can bind it first. Then nginx exits
  // with "Address already in use" and another port is chosen, up to three times.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    writeFileSync(join(dir, 'error.log'), '')
    writeFileSync(join(dir, 'nginx.conf'), conf.replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${port};`))
    const started = await spawnNginx(dir, `http://127.0.0.1:${port}`)
    if (typeof started !== 'string') return started
    if (attempt === 3 || !started.includes('Address already in use')) {
      rmSync(dir, { recursive: true, force: true })
      throw new Error(started)
    }
  }
}

/** nginx, once it answers at `url`; the reason as a string if it exited or did not answer. */
async function spawnNginx(dir: string, url: string): Promise<Nginx | string> {
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Ready when it answers (polling for readiness; a failed start ends the wait at once).
  let failed = false
  void exited.then(() => (failed = true))
  const deadline = Date.now() + 15_000
  for (;;) {
    if (failed) return `nginx exited: ${stderr}${readFileSync(join(dir, 'error.log'), { encoding: 'utf8', flag: 'a+' })}`
    try {
      await fetch(`${url}/healthz`)
      // nginx writes its pid file once it has bound its port: an answer without it came from another server.
      if (!existsSync(join(dir, 'nginx.pid'))) throw new Error('not ours yet')
      break
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        await exited
        return `nginx did not start: ${stderr}`
      }
      await new Promise<void>((resolve) => setTimeout(resolve, 25))
    }
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGQUIT')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
