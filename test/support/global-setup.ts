// Runs once before the end-to-end tests: fail early, and clearly, without a browser or a build.
import { existsSync } from 'node:fs'
import { findChromium } from './browser'

export default function setup(): void {
  const { path, source } = findChromium()
  console.log(`e2e: Chromium from ${source}: ${path}`)
  if (!existsSync('dist/browser/vigil.min.js')) throw new Error('e2e: dist/ is missing: run `npm run build` (npm test does it for you).')
}
