/**
 * The time zone from Date, not Intl: a page's first Intl call starts ICU, a 40–60 ms
 * long task. The IANA zone name comes from the Web Worker (off the main thread).
 */
import type { TimezoneSignal } from '@vigil-risk/core/protocol/signals'

export function getTimezone(): TimezoneSignal {
  const date = new Date()
  const name = /\(([^)]+)\)\s*$/.exec(date.toString())?.[1] ?? null
  return { offset: date.getTimezoneOffset(), name }
}
