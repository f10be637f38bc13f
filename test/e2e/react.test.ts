/**
 * The React entry (`vigil/react`, published as `@vigil-risk/sdk/react`), built, in Chromium
 * under StrictMode (mount, unmount, mount again), and rendered on the server in Node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createElement } from 'react'
import { renderToString } from 'react-dom/server'
import { build } from 'esbuild'
import type { Browser } from 'playwright-core'
import type * as ReactEntry from '../../sdk/src/react'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'

let collector: TestCollector
let browser: Browser
// Inside the repository, so that `vigil/react` resolves to the build as it does for a user.
const scratch = resolve('.scratch', `react-${randomBytes(4).toString('hex')}`)

const APP = `
import { StrictMode, useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { VigilProvider, useVigil } from 'vigil/react'

function Checkout() {
  const { getToken, ready } = useVigil()
  const [early] = useState(() => getToken('checkout')) // asked during the first render, before any mount
  useEffect(() => {
    early.then((token) => (window.early = token), (err) => (window.early = 'error ' + err.code))
  }, [early])
  return <button id="go" disabled={!ready} onClick={() => getToken('checkout').then((t) => (window.clicked = t), (e) => (window.clicked = 'error ' + e.code))}>go</button>
}

function Outside() {
  const { getToken } = useVigil()
  useEffect(() => void getToken('checkout').catch((err) => (window.outside = err.name + ' ' + err.code)), [getToken])
  return null
}

const root = createRoot(document.getElementById('root'))
root.render(
  <StrictMode>
    <VigilProvider endpoint={location.origin} siteKey="demo"><Checkout /></VigilProvider>
    <Outside />
  </StrictMode>,
)
window.unmount = () => root.unmount()
`

beforeAll(async () => {
  collector = await startTestCollector()
  browser = await launchChromium()
  mkdirSync(scratch, { recursive: true })
  writeFileSync(join(scratch, 'app.jsx'), APP)
  await build({
    entryPoints: [join(scratch, 'app.jsx')],
    bundle: true,
    splitting: true,
    format: 'esm',
    outdir: join(scratch, 'out'),
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
  })
})
afterAll(async () => {
  await browser?.close()
  await collector?.close()
  rmSync(scratch, { recursive: true, force: true })
})

describe('VigilProvider and useVigil', () => {
  it('under StrictMode: a token asked for before mount and one asked for on click both verify; outside a provider, a typed rejection', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.route(`${collector.url}/react-app/**`, (route) => {
      const name = new URL(route.request().url()).pathname.split('/').pop()!
      return route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(scratch, 'out', name.replace(/[^\w.-]/g, ''))) })
    })
    await page.route(`${collector.url}/react-page`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><div id="root"></div><script type="module" src="/react-app/app.js"></script>' }),
    )
    await page.goto(`${collector.url}/react-page`)
    const early = (await (await page.waitForFunction(() => (window as unknown as { early?: string }).early)).jsonValue()) as string
    expect(early).not.toMatch(/^error/)
    expect(await collector.inspect(early)).toMatchObject({ action: 'checkout', siteKey: 'demo' })
    await page.click('#go:not([disabled])')
    const clicked = (await (await page.waitForFunction(() => (window as unknown as { clicked?: string }).clicked)).jsonValue()) as string
    expect(await collector.inspect(clicked)).toMatchObject({ action: 'checkout' })
    expect(await page.evaluate(() => (window as unknown as { outside?: string }).outside)).toBe('VigilError config_error')
    // Unmounting destroys the client: its listeners go, and nothing is thrown into the page.
    await page.evaluate(() => (window as unknown as { unmount(): void }).unmount())
    expect(errors).toEqual([])
    await page.close()
  })

  it('renders on the server without touching browser globals', async () => {
    const built = '../../dist/sdk/react.js'
    const react = (await import(built)) as typeof ReactEntry
    const html = renderToString(createElement(react.VigilProvider, { siteKey: 'demo', endpoint: 'https://collector.example' }, createElement('p', null, 'shop')))
    expect(html).toBe('<p>shop</p>')
  })
})
