/** What the browser says it is: UA string, platform, vendor and UA client hints. */
import type { UserAgentSignal } from '@vigil-risk/core/protocol/signals'

interface UADataLike {
  brands?: Array<{ brand: string; version: string }>
  mobile?: boolean
  platform?: string
}

export function getUserAgent(): UserAgentSignal {
  const data = (navigator as { userAgentData?: UADataLike }).userAgentData
  return {
    ua: navigator.userAgent.slice(0, 512),
    platform: navigator.platform,
    vendor: navigator.vendor,
    brands: data?.brands ? data.brands.slice(0, 8).map((b) => `${b.brand}/${b.version}`) : null,
    mobile: typeof data?.mobile === 'boolean' ? data.mobile : null,
    uaPlatform: typeof data?.platform === 'string' ? data.platform : null,
  }
}
