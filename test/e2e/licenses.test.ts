/**
 * Licences survive the build: every bundle opens with the notices of the third-party code
 * it carries (minification strips comments; scripts/licenses.mjs puts them back), and
 * THIRD_PARTY_NOTICES.md covers exactly what the build reports it bundled.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

interface Bundled {
  version: string
  license: string
  notices: string[]
}
const bundled = JSON.parse(readFileSync('dist/licenses.json', 'utf8')) as Record<string, Bundled>
const notices = readFileSync('THIRD_PARTY_NOTICES.md', 'utf8')

describe('licences', () => {
  it('the repository carries the MIT licence', () => {
    expect(readFileSync('LICENSE', 'utf8')).toMatch(/^MIT License/)
  })

  it('THIRD_PARTY_NOTICES.md names every bundled package, version and licence, and nothing else', () => {
    const listed = [...notices.matchAll(/^## (\S+) (\d\S*)\n\nLicence: (\S+)$/gm)].map((m) => [m[1]!, m[2]!, m[3]!])
    expect(listed).toEqual(Object.entries(bundled).map(([name, p]) => [name, p.version, p.license]))
    expect(Object.keys(bundled)).toEqual(expect.arrayContaining(['@fingerprintjs/fingerprintjs', '@tensorflow/tfjs-core', 'tweetnacl']))
  })

  it('the minified bundles keep the notices of what they carry', () => {
    const core = readFileSync('dist/browser/vigil.min.js', 'utf8')
    expect(core).toMatch(/^\/\*! Vigil SDK [\d.]+ \| MIT/)
    expect(core).toContain('FingerprintJS v5')
    expect(core).toContain('Permission is hereby granted')
    const classifier = readFileSync('dist/browser/vigil-classifier.mjs', 'utf8')
    expect(classifier).toContain('Licensed under the Apache License, Version 2.0')
    expect(classifier).toContain('Copyright 2019 David Bau') // seedrandom, MIT
    expect(readFileSync('dist/browser/vigil-nacl.mjs', 'utf8')).toContain('bundles tweetnacl')
    // Each notice once per file, however many modules carried it.
    for (const file of readdirSync('dist/browser').filter((f) => /\.m?js$/.test(f))) {
      const text = readFileSync(join('dist/browser', file), 'utf8')
      const blocks = text.match(/\/\*![\s\S]*?\*\//g) ?? []
      expect(new Set(blocks).size, file).toBe(blocks.length)
    }
  })
})
