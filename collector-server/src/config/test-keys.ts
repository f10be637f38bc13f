/**
 * Test keys: reserved sites that mint real tokens with a fixed verdict, for merchants' own
 * end-to-end suites (a Playwright run is automation, and gets `deny` from a real site).
 * Everything up to the token is real (challenge, device signature, single use, rate
 * limits); then the verdict is the key's (the evidence is not judged), the token carries
 * `test: true`, and nothing is linked, stored or counted on a dashboard. Verifiers (vigil/verify, siteverify) refuse
 * such tokens unless the caller says it accepts them (docs/testing.md).
 *
 * Their secret is public, like the demo site's: a test token opens only with it, so a
 * production backend, which uses its own site's secret, cannot be handed one.
 */
import type { Verdict } from '@vigil-risk/core/protocol/token'

/** The public secret of every test key. */
export const TEST_SECRET = 'vigil-test-secret-public'

/** Reserved site keys and the verdict each always gives. */
export const TEST_SITE_KEYS = { 'test-allow': 'allow', 'test-review': 'review', 'test-deny': 'deny' } as const satisfies Record<string, Verdict>

/** The score each fixed verdict comes with: inside its band under the default thresholds. */
export const TEST_SCORES: Record<Verdict, number> = { allow: 0, review: 0.5, deny: 1 }

export const isTestSiteKey = (siteKey: string): boolean => Object.hasOwn(TEST_SITE_KEYS, siteKey)

/** The test keys as site configs (sites.ts adds them to the registry). */
export function testSiteConfigs(): Array<{ siteKey: string; secret: string; name: string; origins: string[]; testVerdict: Verdict }> {
  return Object.entries(TEST_SITE_KEYS).map(([siteKey, verdict]) => ({
    siteKey,
    secret: TEST_SECRET,
    name: `Test key: always ${verdict} (tokens carry test: true; production verifiers refuse them)`,
    // Any http(s) page: a merchant's CI runs on localhost, on a staging host, anywhere.
    origins: ['*'],
    testVerdict: verdict,
  }))
}
