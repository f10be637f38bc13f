/**
 * Finds a Chromium to drive and launches it with the flags this project's machines need.
 * Order: $CHROMIUM_PATH, Playwright's own downloaded browser, the system Chromium/Chrome.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type LaunchOptions } from 'playwright-core'

const SYSTEM_BROWSERS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome']

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

export class NoBrowserError extends Error {
  override readonly name = 'NoBrowserError'
}

export function findChromium(): { path: string; source: string } {
  const fromEnv = process.env['CHROMIUM_PATH']
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new NoBrowserError(`CHROMIUM_PATH=${fromEnv} does not exist.`)
    return { path: fromEnv, source: 'CHROMIUM_PATH' }
  }
  try {
    const own = chromium.executablePath()
    if (own && existsSync(own)) return { path: own, source: 'playwright' }
  } catch {
    // Playwright has no browser of its own here.
  }
  const system = SYSTEM_BROWSERS.find((p) => existsSync(p))
  if (system) return { path: system, source: 'system' }
  throw new NoBrowserError(
    [
      'No Chromium found for the end-to-end tests. Any one of these fixes it:',
      '  - Debian/Ubuntu: sudo apt-get install -y chromium',
      '  - Playwright\'s browser: npx playwright install chromium',
      '  - point CHROMIUM_PATH at a Chromium or Chrome binary',
    ].join('\n'),
  )
}

export async function launchChromium(options: LaunchOptions & { headless?: boolean } = {}): Promise<Browser> {
  const { path } = findChromium()
  const headless = options.headless ?? true
  return chromium.launch({
    ...options,
    executablePath: path,
    headless,
    args: [...(headless ? ['--headless'] : []), ...CHROMIUM_FLAGS, ...(options.args ?? [])],
  })
}

/** A Chromium started as a plain process (nothing attached), with its own throwaway profile. */
export interface PlainChromium {
  /** Kills it with every helper process it started, and deletes its profile. */
  stop(): Promise<void>
}

/**
 * Starts Chromium on an X display with no automation attached. It runs in a process group
 * of its own: killing only the main process would leave its helpers writing to the profile.
 */
export function spawnPlainChromium(display: string, args: string[]): PlainChromium {
  const profile = mkdtempSync(join(tmpdir(), 'vigil-plain-'))
  const child = spawn(findChromium().path, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args], {
    env: { ...process.env, DISPLAY: display },
    stdio: 'ignore',
    detached: true,
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    async stop() {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // Already gone.
      }
      await exited
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
    },
  }
}
