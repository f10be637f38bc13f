/** A private X display (Xvfb) for headful browsers in tests; loopback only, no TCP. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'

export interface Display {
  display: string
  stop(): Promise<void>
}

function hasXvfb(): boolean {
  return spawnSync('sh', ['-c', 'command -v Xvfb'], { stdio: 'ignore' }).status === 0
}

export async function startXvfb(width = 1920, height = 1080): Promise<Display> {
  if (!hasXvfb()) throw new Error('Xvfb is not installed: apt-get install xvfb (npm test installs it on Debian when run as root).')
  for (let n = 90 + Math.floor(Math.random() * 400); n < 1000; n++) {
    if (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) continue
    const child: ChildProcess = spawn('Xvfb', [`:${n}`, '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp'], { stdio: 'ignore' })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      if (existsSync(`/tmp/.X11-unix/X${n}`)) {
        return {
          display: `:${n}`,
          async stop() {
            child.kill('SIGTERM')
            await exited
          },
        }
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    child.kill('SIGKILL')
  }
  throw new Error('could not start Xvfb on any display')
}
