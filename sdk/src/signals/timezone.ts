/** Time zone and locale, for classification (Tor/RFP report UTC) and consistency. */
export interface TimezoneSignal {
  zone: string | null
  offset: number
  locale: string | null
}

export function getTimezone(): TimezoneSignal {
  let zone: string | null = null
  let locale: string | null = null
  try {
    const options = Intl.DateTimeFormat().resolvedOptions()
    zone = options.timeZone ?? null
    locale = options.locale ?? null
  } catch {
    // Intl missing or broken: keep nulls.
  }
  return { zone, offset: new Date().getTimezoneOffset(), locale }
}
