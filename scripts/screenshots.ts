/**
 * Takes the README's screenshots (docs/images/shop.png, docs/images/dashboard.png) from a
 * real run: a collector on a temporary SQLite store, shoppers in Chromium, an attacker's
 * scripts, then the dashboard. `npm run docs:screenshots` (after `npm run build`).
 */
import { mkdirSync } from 'node:fs'
import { launchChromium } from '../test/support/browser'
import { startTestCollector } from '../test/support/collector'
import { STAGING_POLICY, addToCart, attackerTraffic, checkout, claimCoupon, setDemoPolicy, signIn, signInUntil, signOut } from '../test/support/demo-flows'

const OUT = 'docs/images'

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true })
  const collector = await startTestCollector({ logger: false })
  const browser = await launchChromium()
  try {
    // A few driven browsers under the production policy: the bots a shop sees.
    for (let i = 0; i < 3; i++) {
      const context = await browser.newContext()
      const page = await context.newPage()
      await page.goto(`${collector.url}/`)
      await page.waitForSelector('[data-sku]')
      await signIn(page, `bot${i}@example.com`)
      await addToCart(page, 'sku-006')
      await context.close()
    }
    for (let i = 0; i < 3; i++) await attackerTraffic(collector.url)

    // Then the staging policy, and a shopper who farms the coupon with three accounts.
    setDemoPolicy(collector.dataDir, STAGING_POLICY)
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const shop = await context.newPage()
    await shop.goto(`${collector.url}/`)
    await shop.waitForSelector('[data-sku]')
    await signInUntil(shop, 'ann@example.com', 'allowed')
    await claimCoupon(shop)
    await addToCart(shop, 'sku-001')
    await addToCart(shop, 'sku-003')
    await checkout(shop)
    for (const who of ['bob', 'cat']) {
      await signOut(shop)
      // The third account on one device is itself stepped up (multi_account) and never gets signed in.
      if ((await signIn(shop, `${who}@example.com`)).outcome === 'allowed') await claimCoupon(shop)
    }
    await addToCart(shop, 'sku-002')
    await shop.screenshot({ path: `${OUT}/shop.png` })

    const dash = await context.newPage()
    await dash.setViewportSize({ width: 1280, height: 1080 })
    await dash.goto(`${collector.url}/dashboard/#siteKey=demo&key=demo-secret`)
    await dash.waitForFunction(() => (window as unknown as { __lastUpdate?: number }).__lastUpdate !== undefined)
    await dash.selectOption('#minutes', '15')
    await dash.waitForTimeout(2500)
    await dash.screenshot({ path: `${OUT}/dashboard.png`, fullPage: true })
    console.log(`wrote ${OUT}/shop.png and ${OUT}/dashboard.png`)
  } finally {
    await browser.close()
    await collector.close()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
