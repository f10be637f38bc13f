// npm pack / npm publish hooks of the published packages (sdk, verify, collector-server):
//   node ../scripts/pack.mjs prepack <dir>    build dist/ if stale, copy the package's part into
//                                            <dir>/dist, and the licence files into <dir>
//   node ../scripts/pack.mjs postpack <dir>   remove the licence copies again
// npm runs these with the package's directory as the working directory.
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const [hook, dir] = process.argv.slice(2)
const LICENCE_FILES = { sdk: ['LICENSE', 'THIRD_PARTY_NOTICES.md'], verify: ['LICENSE'], 'collector-server': ['LICENSE'] }
if (!(dir in LICENCE_FILES) || !['prepack', 'postpack'].includes(hook)) {
  console.error('usage: node scripts/pack.mjs prepack|postpack sdk|verify|collector-server')
  process.exit(2)
}
process.chdir(fileURLToPath(new URL('..', import.meta.url)))
if (hook === 'prepack') {
  const { ensureBuilt, stagePackages } = await import('./build.mjs')
  ensureBuilt({ quiet: true })
  stagePackages()
  for (const file of LICENCE_FILES[dir]) copyFileSync(file, join(dir, file))
} else {
  for (const file of LICENCE_FILES[dir]) rmSync(join(dir, file), { force: true })
}
