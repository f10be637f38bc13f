/**
 * What the collector sees for itself: the HTTP request that carried the payload, against
 * what the payload's signals claim. A browser's own request headers come from the same
 * settings as navigator's properties; a script that posts a page's payload from elsewhere
 * (Node, curl, a proxy rewriting bodies) usually gets them wrong. Each disagreement is
 * tampering. Only headers every engine of the claimed kind sends are required; over plain
 * http to a non-local collector browsers send neither client hints nor fetch metadata, so
 * those checks apply to secure collectors (https, or localhost) only.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Detection, Environment } from '@vigil-risk/core/detectors'
import type { SignalComponents } from '@vigil-risk/core/protocol/signals'
import { valueOf } from '@vigil-risk/core/detectors'

export interface RequestView {
  headers: IncomingHttpHeaders
  /** The collector was reached over https or on a loopback host: browsers send client hints and fetch metadata. */
  secure: boolean
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name]
  return Array.isArray(v) ? v.join(', ') : v
}

/** `"Chromium";v="156", "Not.A/Brand";v="99"` → ['Chromium/156', 'Not.A/Brand/99'], sorted. */
function brandsOf(value: string): string[] {
  return [...value.matchAll(/"([^"]*)"\s*;\s*v="([^"]*)"/g)].map((m) => `${m[1]}/${m[2]}`).sort()
}

/** The major version an engine's UA names (Chrome/…, Firefox/…, Version/… for Safari), or 0. */
function majorVersion(ua: string, env: Environment): number {
  const re = env.engine === 'blink' ? /Chrom(?:e|ium)\/(\d+)/ : env.engine === 'gecko' ? /Firefox\/(\d+)/ : /Version\/(\d+)(?:\.(\d+))?/
  const m = re.exec(ua)
  if (!m) return 0
  return env.engine === 'webkit' ? Number(m[1]) + Number(m[2] ?? 0) / 10 : Number(m[1])
}

/** Engines that send Sec-Fetch-* on every request to a potentially trustworthy URL. */
function sendsFetchMetadata(ua: string, env: Environment): boolean {
  const v = majorVersion(ua, env)
  return (env.engine === 'blink' && v >= 80) || (env.engine === 'gecko' && v >= 90) || (env.engine === 'webkit' && v >= 16.4)
}

export function httpDetections(request: RequestView, signals: SignalComponents, env: Environment): Detection[] {
  const out: Detection[] = []
  const tamper = (detail: string): void => void out.push({ code: 'tampering', detector: 'http', detail })
  const agent = valueOf(signals, 'userAgent')
  // No user-agent signal (it failed, or is missing: completeness judges that): nothing to compare.
  if (!agent || typeof agent.ua !== 'string') return out
  const ua = header(request.headers, 'user-agent') ?? ''
  // The SDK sends navigator.userAgent cut to 512 characters.
  if (ua.slice(0, 512) !== agent.ua) tamper(`the request's User-Agent is not the page's (${ua.slice(0, 60) || 'none'})`)

  const languages = valueOf(signals, 'hardware')?.languages
  const acceptLanguage = header(request.headers, 'accept-language')
  if (Array.isArray(languages) && typeof languages[0] === 'string' && languages[0].length > 0) {
    const first = acceptLanguage?.split(',')[0]?.split(';')[0]?.trim().toLowerCase()
    if (first !== languages[0].toLowerCase()) tamper(`Accept-Language starts with ${first ?? 'nothing'}, the page's first language is ${languages[0]}`)
  }

  if (!request.secure) return out
  if (Array.isArray(agent.brands) && agent.brands.length > 0) {
    const hinted = header(request.headers, 'sec-ch-ua')
    if (hinted === undefined) tamper('no Sec-CH-UA from a browser with client hints')
    else if (brandsOf(hinted).join(',') !== [...agent.brands].sort().join(',')) tamper(`Sec-CH-UA ${hinted.slice(0, 80)} is not the page's brands`)
    const mobile = header(request.headers, 'sec-ch-ua-mobile')
    if (typeof agent.mobile === 'boolean' && mobile !== undefined && mobile !== (agent.mobile ? '?1' : '?0')) tamper(`Sec-CH-UA-Mobile ${mobile} is not the page's`)
    const platform = header(request.headers, 'sec-ch-ua-platform')
    if (typeof agent.uaPlatform === 'string' && platform !== undefined && platform !== `"${agent.uaPlatform}"`) tamper(`Sec-CH-UA-Platform ${platform} is not the page's`)
  }
  if (sendsFetchMetadata(agent.ua, env)) {
    const mode = header(request.headers, 'sec-fetch-mode')
    const dest = header(request.headers, 'sec-fetch-dest')
    const site = header(request.headers, 'sec-fetch-site')
    if (mode !== 'cors' || dest !== 'empty' || site === undefined) tamper(`fetch metadata mode=${mode ?? '-'} dest=${dest ?? '-'} site=${site ?? '-'} is not a page's fetch`)
  }
  return out
}
