/**
 * Runs the built collector (bin/vigil-collector.js) as its own process, as users and load
 * balancers see it; or the demo app (demo/main.ts, what `npm start` runs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'

export interface CliCollector {
  child: ChildProcess
  url: string
  output(): string
  /** SIGTERM and wait; resolves to the exit code. */
  stop(): Promise<number | null>
  /** SIGKILL and wait. */
  kill(): Promise<void>
}

export function startCli(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<CliCollector> {
  return startProcess([...nodeArgs, 'bin/vigil-collector.js', '--port', '0', ...args], env)
}

/** The demo app: the collector with the demo site, and the shop mounted in it. */
export function startDemo(args: string[], env: Record<string, string> = {}): Promise<CliCollector> {
  return startProcess(['--import', 'tsx', 'demo/main.ts', '--port', '0', ...args], env)
}

function startProcess(argv: string[], env: Record<string, string>): Promise<CliCollector> {
  const child = spawn(process.execPath, argv, { env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', ...env } })
  let out = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /Vigil collector on (http:\/\/\S+)/.exec(out)
      if (m) {
        resolve({
          child,
          url: m[1]!,
          output: () => out,
          async stop() {
            if (child.exitCode === null) child.kill('SIGTERM')
            return exited
          },
          async kill() {
            if (child.exitCode === null) child.kill('SIGKILL')
            await exited
          },
        })
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('exit', (code) => reject(new Error(`collector exited with ${code}: ${out}`)))
  })
}

/** Runs a vigil-collector subcommand to completion. */
export function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/vigil-collector.js', ...args], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}
