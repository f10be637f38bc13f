import { valueOf, type Detection, type Environment, type Signals } from './types'

type Os = 'windows' | 'mac' | 'ios' | 'android' | 'chromeos' | 'linux'

function osOfUa(ua: string): Os | null {
  if (/Windows NT|Win64|WOW64/.test(ua)) return 'windows'
  if (/iPhone|iPad|iPod/.test(ua)) return 'ios'
  if (/Android/.test(ua)) return 'android'
  if (/CrOS/.test(ua)) return 'chromeos'
  if (/Macintosh|Mac OS X/.test(ua)) return 'mac'
  if (/Linux|X11/.test(ua)) return 'linux'
  return null
}

/** Which navigator.platform values each UA operating system can come with. */
const PLATFORMS: Record<Os, RegExp> = {
  windows: /^Win/,
  mac: /^Mac|^iPad/, // iPadOS in desktop mode says Macintosh with platform MacIntel
  ios: /^iPhone|^iPad|^iPod|^MacIntel/,
  android: /^Linux|^Android|^null$|^$/,
  chromeos: /^Linux|^CrOS/,
  linux: /^Linux|^FreeBSD|^OpenBSD/,
}
/** navigator.userAgentData.platform per UA operating system (Chromium only). */
const HINT_PLATFORMS: Record<Os, RegExp> = {
  windows: /^Windows$/,
  mac: /^macOS$/,
  ios: /^iOS$/,
  android: /^Android$|^Linux$/, // desktop-site mode on Android reports Linux
  chromeos: /^Chrome OS$|^ChromeOS$/,
  linux: /^Linux$|^Android$/, // Android's "request desktop site" sends an X11 UA
}

/**
 * The user agent, navigator.platform and the UA client hints must tell one story.
 * User-agent spoofing (stealth kits, UA-switcher extensions, cheap bots) changes the
 * string and forgets the rest.
 */
export function detectUaConsistency(signals: Signals, env: Environment): Detection[] {
  const agent = valueOf(signals, 'userAgent')
  if (!agent || typeof agent.ua !== 'string') return []
  if (env.privacy.includes('firefox_rfp')) return []
  const out: Detection[] = []
  const os = osOfUa(agent.ua)
  if (os && typeof agent.platform === 'string' && !PLATFORMS[os].test(agent.platform)) {
    out.push({ code: 'tampering', detector: 'ua_consistency', detail: `${os} user agent on platform '${agent.platform}'` })
  }
  if (os && typeof agent.uaPlatform === 'string' && agent.uaPlatform !== '' && !HINT_PLATFORMS[os].test(agent.uaPlatform)) {
    out.push({ code: 'tampering', detector: 'ua_consistency', detail: `${os} user agent with client-hint platform '${agent.uaPlatform}'` })
  }
  const uaMajor = /Chrome\/(\d+)/.exec(agent.ua)?.[1]
  const chromium = (agent.brands ?? []).find((b) => typeof b === 'string' && b.startsWith('Chromium/'))
  if (uaMajor && chromium && chromium.split('/')[1] !== uaMajor) {
    out.push({ code: 'tampering', detector: 'ua_consistency', detail: `Chrome/${uaMajor} in the user agent but ${chromium} in client hints` })
  }
  const hw = valueOf(signals, 'hardware')
  if ((os === 'android' || os === 'ios') && env.engine !== 'unknown' && hw && hw.touchPoints === 0 && !/iPad/.test(agent.ua)) {
    out.push({ code: 'tampering', detector: 'ua_consistency', detail: `${os} user agent without a touch screen` })
  }
  return out
}
