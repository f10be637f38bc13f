/**
 * npm test's first step: make sure the system programs the tests drive are present.
 * Where one is missing and this is a Debian/Ubuntu machine on which we are root, it is
 * installed with apt-get (say VIGIL_NO_INSTALL=1 to forbid that); otherwise we stop
 * with a message that says what to install.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { findChromium, NoBrowserError } from '../test/support/browser'

interface Dependency {
  what: string
  debianPackage: string
  present(): boolean
  hint: string
  /** Tests that need it are skipped without it: installed when we can, never required. */
  optional?: boolean
}

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

const DEPENDENCIES: Dependency[] = [
  {
    what: 'Chromium (end-to-end tests)',
    debianPackage: 'chromium',
    present: () => {
      try {
        findChromium()
        return true
      } catch (err) {
        if (err instanceof NoBrowserError) return false
        throw err
      }
    },
    hint: "apt-get install chromium, or `npx playwright install chromium`, or set CHROMIUM_PATH",
  },
  {
    what: 'redis-server (the scale-out store, tested beside SQLite)',
    debianPackage: 'redis-server',
    present: () => onPath('redis-server'),
    hint: 'apt-get install redis-server',
  },
  {
    what: 'redis-cli (joins the local Redis Cluster the tests start)',
    debianPackage: 'redis-tools',
    present: () => onPath('redis-cli'),
    hint: 'apt-get install redis-tools',
  },
  {
    what: 'Xvfb (headful browsers in the red-team tests)',
    debianPackage: 'xvfb',
    present: () => onPath('Xvfb'),
    hint: 'apt-get install xvfb',
  },
  {
    what: 'chromedriver (the Selenium red-team case)',
    debianPackage: 'chromium-driver',
    present: () => onPath('chromedriver'),
    hint: 'apt-get install chromium-driver (the test is skipped without it)',
    optional: true,
  },
  {
    what: "xdotool (OS-level input: the red team's person)",
    debianPackage: 'xdotool',
    present: () => onPath('xdotool'),
    hint: 'apt-get install xdotool (the test is skipped without it)',
    optional: true,
  },
  {
    what: "Python's jwcrypto (the Python snippet in docs/tokens.md)",
    debianPackage: 'python3-jwcrypto',
    present: () => ['python3', '/usr/bin/python3'].some((py) => spawnSync(py, ['-c', 'import jwcrypto, cryptography'], { stdio: 'ignore' }).status === 0),
    hint: 'apt-get install python3-jwcrypto, or pip install jwcrypto (that snippet is skipped without it)',
    optional: true,
  },
]

const missing = DEPENDENCIES.filter((d) => !d.present())
if (missing.length > 0) {
  const canInstall = process.env['VIGIL_NO_INSTALL'] !== '1' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')
  if (!canInstall) {
    const required = missing.filter((d) => !d.optional)
    for (const d of missing.filter((x) => x.optional)) console.warn(`Optional, missing (some tests will be skipped): ${d.what}: ${d.hint}`)
    if (required.length > 0) {
      console.error('The tests need programs this machine lacks:')
      for (const d of required) console.error(`  - ${d.what}: ${d.hint}`)
      process.exit(1)
    }
  } else {
    install(missing)
  }
}

function install(missing: Dependency[]): void {
  const packages = missing.map((d) => d.debianPackage)
  console.log(`Installing ${packages.join(', ')} with apt-get for the tests (VIGIL_NO_INSTALL=1 stops this)…`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...packages]]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env })
    if (r.status !== 0) {
      console.error(`apt-get ${args[0]} failed; install ${packages.join(', ')} yourself and run npm test again.`)
      process.exit(1)
    }
  }
  const still = missing.filter((d) => !d.present() && !d.optional)
  if (still.length > 0) {
    console.error(`Still missing after apt-get: ${still.map((d) => d.what).join(', ')}`)
    process.exit(1)
  }
}
