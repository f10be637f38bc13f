// `node scripts/notices.mjs` rewrites THIRD_PARTY_NOTICES.md from what the last build bundled
// (dist/licenses.json, written by scripts/licenses.mjs): each package's licence file, or the
// notices in the code we bundle where the package ships no licence file, and the full text of each
// licence such a notice refers to. test/e2e/licenses.test.ts fails when the file is stale.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const bundled = JSON.parse(readFileSync('dist/licenses.json', 'utf8'))
const dirOf = (name) => join('node_modules', ...name.split('/'))
const licenceFile = (name) => readdirSync(dirOf(name)).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f))

const sections = []
/** Licences named by a notice without their full text: SPDX id → the text, from a bundled package that ships it. */
const fullTexts = new Map()
for (const [name, { version, license, notices }] of Object.entries(bundled)) {
  const file = licenceFile(name)
  if (!file && notices.length === 0) throw new Error(`${name}: no licence file, and no licence notice in the code we bundle`)
  const text = file ? readFileSync(join(dirOf(name), file), 'utf8').trim() : notices.join('\n')
  if (!file && /obtain a copy of the License/i.test(text)) fullTexts.set(license, null)
  sections.push(`## ${name} ${version}\n\nLicence: ${license}\n\n\`\`\`text norun="a licence text, not code"\n${text}\n\`\`\``)
}
for (const spdx of fullTexts.keys()) {
  const donor = Object.entries(bundled).find(([name, p]) => p.license === spdx && licenceFile(name))
  if (!donor) continue
  const text = readFileSync(join(dirOf(donor[0]), licenceFile(donor[0])), 'utf8').trim()
  sections.push(`## The ${spdx} licence, in full\n\n\`\`\`text norun="a licence text, not code"\n${text}\n\`\`\``)
}

writeFileSync(
  'THIRD_PARTY_NOTICES.md',
  `# Third-party notices

The Vigil SDK bundles the packages below into its builds (\`dist/browser/\`, \`dist/sdk/\`;
each bundle also opens with their notices). The collector and the verifier bundle no
third-party code: the collector's dependencies are installed beside it by npm, each with
its own licence. Written by \`node scripts/notices.mjs\` from \`dist/licenses.json\`.

${sections.join('\n\n')}
`,
)
