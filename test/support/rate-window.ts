/**
 * Rate limits count in fixed one-minute windows of the wall clock (risk/rate-limit.ts): a
 * burst a test expects to be cut off part-way must land in one window. Waits, when less than
 * `needMs` of the current minute is left, for the next one to begin. The collectors under
 * test run on this machine and read the same clock.
 */
export async function inOneRateWindow(needMs = 10_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 100))
}
