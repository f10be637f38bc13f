/**
 * What a shopper does on the demo shop, and what makes a dashboard worth looking at:
 * shared by the demo browser test and the script that takes the README's screenshots.
 */
import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { replaceFile } from '../../collector-server/src/config/files'
import { DEMO_SITE, sitesPath, type SiteConfig } from '../../collector-server/src/config/sites'
import type { PolicyConfig } from '../../collector-server/src/risk/policy'
import { TestDevice } from './device'

export interface Answer {
  action: string
  outcome: string
  verdict: string
  reasons: string[]
  /** The shop's status line after the action. */
  status: string
}

/** Runs `act` on the shop page and returns the developer panel's row for the answer it produced. */
async function shopAction(page: Page, act: () => Promise<void>): Promise<Answer> {
  const before = Number((await page.getAttribute('#dev-log', 'data-count')) ?? 0)
  await act()
  await page.waitForFunction((n) => Number(document.getElementById('dev-log')!.dataset['count'] ?? 0) > n, before, { timeout: 20_000 })
  return page.evaluate(() => {
    const cells = [...document.querySelectorAll('#dev-log tr:first-child td')].map((td) => td.textContent ?? '')
    return {
      action: cells[0]!,
      outcome: cells[1]!,
      verdict: cells[2]!,
      reasons: cells[4] === '–' ? [] : cells[4]!.split(', '),
      status: document.getElementById('outcome')!.textContent ?? '',
    }
  })
}

/** Moves the pointer about a little first, as a person reaching for a control would. */
async function reach(page: Page, selector: string): Promise<void> {
  const box = await page.locator(selector).boundingBox()
  if (box) await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 8 })
}

export async function signIn(page: Page, email: string): Promise<Answer> {
  if (await page.isVisible('#signout')) await page.click('#signout')
  await reach(page, '#email')
  await page.fill('#email', email)
  await page.fill('#password', 'correct horse battery staple')
  return shopAction(page, () => page.click('#signin-button'))
}

export const signOut = (page: Page): Promise<void> => page.click('#signout')

export async function claimCoupon(page: Page): Promise<Answer> {
  await reach(page, '#coupon')
  return shopAction(page, () => page.click('#coupon'))
}

export async function addToCart(page: Page, sku: string): Promise<Answer> {
  await reach(page, `[data-sku="${sku}"]`)
  return shopAction(page, () => page.click(`[data-sku="${sku}"]`))
}

export async function checkout(page: Page): Promise<Answer> {
  await reach(page, '#checkout')
  return shopAction(page, () => page.click('#checkout'))
}

/**
 * Gives the demo site this policy in sites.json (atomically, as docs/operations.md says): an
 * entry there for the demo site replaces the one a collector in development mode adds.
 */
export function setDemoPolicy(dataDir: string, policy: PolicyConfig): void {
  const file = sitesPath(dataDir)
  const config = JSON.parse(readFileSync(file, 'utf8')) as { sites: SiteConfig[] }
  const others = config.sites.filter((site) => site.siteKey !== DEMO_SITE.siteKey)
  replaceFile(file, `${JSON.stringify({ ...config, sites: [...others, { ...DEMO_SITE, policy }] }, null, 2)}\n`)
}

/**
 * A staging policy: the shop's own test automation (this very Playwright) is tolerated, so
 * the rest of the risk engine — accounts, coupons, velocity — decides. Tampering and the
 * behaviour model are tolerated too: a driven browser's pointer is not a person's.
 */
export const STAGING_POLICY: PolicyConfig = { weights: { automation: 0, tampering: 0, bot_behavior: 0 } }

/** Signs in (retrying while the collector picks up a policy change) until the outcome is `want`. */
export async function signInUntil(page: Page, email: string, want: string, timeoutMs = 10_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const answer = await signIn(page, email)
    if (answer.outcome === want || Date.now() > deadline) return answer
    await page.waitForTimeout(500)
  }
}

export interface Failures {
  bad_signature: number
  replayed: number
  already_redeemed: number
}

/** What an attacker's scripts produce: a forged signature, a replayed payload, a token redeemed twice. */
export async function attackerTraffic(collectorUrl: string): Promise<Failures> {
  const headers = { 'content-type': 'application/json', origin: collectorUrl }
  const challenge = async () => ((await (await fetch(`${collectorUrl}/v1/challenge?siteKey=demo`, { headers })).json()) as { challenge: string }).challenge
  const collect = async (body: unknown) => fetch(`${collectorUrl}/v1/collect`, { method: 'POST', headers, body: JSON.stringify(body) })
  const device = new TestDevice()
  const failures: Failures = { bad_signature: 0, replayed: 0, already_redeemed: 0 }

  const forged = device.body(await challenge())
  forged.payload.action = 'coupon/claim' // changed after signing
  if ((await collect(forged)).status === 401) failures.bad_signature++

  const genuine = device.body(await challenge())
  const first = await collect(genuine)
  if ((await collect(genuine)).status === 409) failures.replayed++

  const { token } = (await first.json()) as { token: string }
  const siteverify = () => fetch(`${collectorUrl}/v1/siteverify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: 'demo-secret', token }) })
  await siteverify()
  if (((await (await siteverify()).json()) as { errorCodes?: string[] }).errorCodes?.includes('already_redeemed')) failures.already_redeemed++
  return failures
}

/** Counts a canvas's pixels close to each colour (#rrggbb): proof that a chart drew its data. */
export async function canvasInk(page: Page, canvasId: string, colors: string[]): Promise<Record<string, number>> {
  return page.evaluate(
    ({ id, colors }) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
      const wanted = colors.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)))
      const counts: Record<string, number> = Object.fromEntries(colors.map((c) => [c, 0]))
      for (let p = 0; p < data.length; p += 4) {
        if (data[p + 3]! < 200) continue
        wanted.forEach(([r, g, b], i) => {
          if (Math.abs(data[p]! - r!) + Math.abs(data[p + 1]! - g!) + Math.abs(data[p + 2]! - b!) < 24) counts[colors[i]!]!++
        })
      }
      return counts
    },
    { id: canvasId, colors },
  )
}
