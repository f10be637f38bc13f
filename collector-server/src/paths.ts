import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The collector package's directory (where `dashboard/` is): collector-server/ in the
 * repository, whether running from source or from the repository's dist/; the installed
 * @vigil-risk/collector package otherwise.
 */
export function collectorRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }
      if (name === '@vigil-risk/collector') return dir
      if (name === 'vigil') return join(dir, 'collector-server')
    }
    if (dirname(dir) === dir) throw new Error('cannot find the @vigil-risk/collector package root')
  }
}

/** The browser SDK the collector serves at /sdk/: the build in the @vigil-risk/sdk package it depends on. */
export function sdkBrowserDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@vigil-risk/sdk/package.json')), 'dist', 'browser')
  } catch {
    return undefined
  }
}
