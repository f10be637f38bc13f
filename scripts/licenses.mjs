// Licence banners for the bundles. Minifying strips every comment, so the legal comments of
// the third-party code a chunk bundles (FingerprintJS's MIT notice, tfjs's Apache-2.0
// headers, …) are collected from the original sources and written once, deduplicated, at
// the top of that chunk, after minification. Packages that ship no legal comment of their
// own are named with their licence. The full texts are in THIRD_PARTY_NOTICES.md, which
// test/e2e/licenses.test.ts checks against what the build reports in dist/licenses.json.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'

/** `/*! … *\/`, or a block comment that says @license or @preserve. */
const LEGAL = /\/\*(?:!|\*?\s*(?:[^*]|\*(?!\/))*?@(?:license|preserve)\b)(?:[^*]|\*(?!\/))*\*\//g
/** A file's opening block comment when it speaks of copyright or a licence (FingerprintJS's banner). */
const HEADER = /^\s*(\/\*(?:[^*]|\*(?!\/))*\*\/)/

const cleanId = (id) => id.replace(/^\0/, '').split('?')[0]

function legalComments(code) {
  const found = new Set(code.match(LEGAL) ?? [])
  const header = HEADER.exec(code)?.[1]
  if (header && /copyright|licen[cs]e/i.test(header)) found.add(header)
  return [...found].map(normalise)
}

/** The package a module id belongs to: { name, version, license, dir }, or null for our own code. */
function packageOf(id) {
  const i = id.lastIndexOf(`${sep}node_modules${sep}`)
  if (i < 0) return null
  const rest = id.slice(i + '/node_modules/'.length).split(sep)
  const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  const dir = join(id.slice(0, i), 'node_modules', ...name.split('/'))
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  return { name, version: manifest.version, license: typeof manifest.license === 'string' ? manifest.license : 'see its package', dir }
}

/** Normalises a legal comment for deduplication and output (no leading indentation, `/*!` opener). */
function normalise(comment) {
  const lines = comment.split('\n').map((l) => l.replace(/^\s+\*/, ' *').trimEnd())
  lines[0] = lines[0].replace(/^\/\*\*?!?/, '/*!')
  return lines.join('\n')
}

/**
 * Notices that differ only in their copyright lines (tfjs has one header per file, by year)
 * become one notice listing every copyright line.
 */
function mergeNotices(notices) {
  const groups = new Map()
  for (const notice of notices) {
    const lines = notice.split('\n')
    const isCopyright = (l) => /^\s*\*?\s*copyright\b/i.test(l)
    const key = lines.map((l) => (isCopyright(l) ? '\u0000' : l)).join('\n')
    const group = groups.get(key) ?? { lines, copyrights: new Set() }
    for (const l of lines.filter(isCopyright)) group.copyrights.add(l)
    groups.set(key, group)
  }
  return [...groups.values()].map(({ lines, copyrights }) => {
    const at = lines.findIndex((l) => /^\s*\*?\s*copyright\b/i.test(l))
    if (at < 0) return lines.join('\n')
    const rest = lines.filter((l, i) => i <= at || !/^\s*\*?\s*copyright\b/i.test(l))
    rest.splice(at, 1, ...[...copyrights].sort())
    return rest.join('\n')
  })
}

/**
 * The plugin. Put `licenses.collect` first in a build's plugins (it must see sources before
 * any transform), and `licenses.banner(title)` last in each output's plugins (after terser).
 */
export function licenses() {
  /** module id → its legal comments */
  const comments = new Map()
  /** every third-party package any output bundled: name → { version, license, notices } */
  const bundled = new Map()
  return {
    collect: {
      name: 'vigil-licenses-collect',
      transform(code, id) {
        const file = cleanId(id)
        if (!packageOf(file)) return null
        const found = legalComments(code)
        if (found.length > 0) comments.set(file, found)
        return null
      },
    },
    banner(title) {
      return {
        name: 'vigil-licenses-banner',
        renderChunk(code, chunk) {
          const packages = new Map()
          const legal = new Set()
          for (const id of chunk.moduleIds) {
            const file = cleanId(id)
            const pkg = packageOf(file)
            if (!pkg) continue
            packages.set(pkg.name, pkg)
            const entry = bundled.get(pkg.name) ?? { version: pkg.version, license: pkg.license, notices: new Set() }
            bundled.set(pkg.name, entry)
            for (const c of comments.get(file) ?? []) {
              legal.add(c)
              entry.notices.add(c)
            }
          }
          const lines = [`/*! ${title} | MIT | third-party licences: THIRD_PARTY_NOTICES.md`]
          for (const pkg of [...packages.values()].sort((a, b) => a.name.localeCompare(b.name))) {
            lines.push(` * bundles ${pkg.name} ${pkg.version} (${pkg.license})`)
          }
          const notices = mergeNotices([...legal])
          const banner = `${lines.join('\n')}\n */\n${notices.map((n) => n + '\n').join('')}`
          // A hashbang must stay first.
          const shebang = /^#!.*\n/.exec(code)?.[0] ?? ''
          return { code: shebang + banner + code.slice(shebang.length), map: null }
        },
      }
    },
    /** Writes what every output bundled (dist/licenses.json), for the notices test. */
    report(file) {
      return {
        name: 'vigil-licenses-report',
        writeBundle() {
          const all = Object.fromEntries(
            [...bundled].sort(([a], [b]) => a.localeCompare(b)).map(([name, p]) => [name, { version: p.version, license: p.license, notices: mergeNotices([...p.notices]) }]),
          )
          mkdirSync(dirname(file), { recursive: true })
          writeFileSync(file, JSON.stringify(all, null, 2) + '\n')
        },
      }
    },
  }
}
