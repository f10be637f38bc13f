/**
 * Classifies the browsing environment, so that what is merely unusual (a privacy
 * browser, an in-app webview) is recognised as such instead of being read as a bot.
 */
import { valueOf, type Environment, type Signals } from './types'

const IN_APP: Array<[string, RegExp]> = [
  ['tiktok', /musical_ly|Bytedance|BytedanceWebview|TikTok|ByteLocale|aweme/i],
  ['instagram', /Instagram/],
  ['wechat', /MicroMessenger/],
  ['facebook', /FBAN|FBAV|FB_IAB|FBIOS/],
  ['messenger', /MessengerForiOS|(?<!Micro)Messenger\//],
  ['line', /\bLine\//],
  ['snapchat', /Snapchat/],
  ['pinterest', /Pinterest/],
  ['twitter', /Twitter/],
  ['linkedin', /LinkedInApp/],
  ['kakaotalk', /KAKAOTALK/i],
  ['alipay', /AlipayClient/],
  ['taobao', /AliApp\(TB/],
]

export function classifyEnvironment(signals: Signals): Environment {
  const agent = valueOf(signals, 'userAgent')
  const env = valueOf(signals, 'environment')
  const ua = typeof agent?.ua === 'string' ? agent.ua : ''
  const vendor = typeof agent?.vendor === 'string' ? agent.vendor : ''
  const engine: Environment['engine'] =
    vendor === 'Google Inc.' || (env?.chromeObject === true && /Chrome\//.test(ua))
      ? 'blink'
      : vendor === 'Apple Computer, Inc.' || (/AppleWebKit/.test(ua) && !/Chrome\//.test(ua))
        ? 'webkit'
        : /Gecko\/\d/.test(ua) && /Firefox\//.test(ua)
          ? 'gecko'
          : 'unknown'
  const mobile = agent?.mobile === true || /Android|iPhone|iPad|iPod|Mobile/.test(ua)

  const browser = /Edg\//.test(ua)
    ? 'edge'
    : /SamsungBrowser\//.test(ua)
      ? 'samsung'
      : /OPR\//.test(ua)
        ? 'opera'
        : env?.brave === true
          ? 'brave'
          : /Firefox\//.test(ua)
            ? 'firefox'
            : engine === 'webkit'
              ? 'safari'
              : /Chrome\//.test(ua)
                ? 'chrome'
                : 'other'

  const privacy: string[] = []
  if (env?.brave === true) privacy.push('brave')
  if (engine === 'gecko') {
    // resistFingerprinting (also Tor Browser): UTC, and a screen the size of the window.
    const zone = valueOf(signals, 'worker')?.zone
    const tz = valueOf(signals, 'timezone')
    const screen = valueOf(signals, 'screen')
    const utc = zone === 'UTC' || zone === 'Etc/UTC' || zone === 'Atlantic/Reykjavik' || (zone == null && tz?.offset === 0)
    const screenIsWindow = !!screen && screen.screen[0] === screen.inner[0] && screen.screen[1] === screen.inner[1]
    if (utc && screenIsWindow) privacy.push('firefox_rfp')
  }
  if ((valueOf(signals, 'lies')?.lies ?? []).some((l) => typeof l === 'string' && l.startsWith('privacy:'))) privacy.push('fingerprint_shield')

  let webview: Environment['webview'] = null
  if (/; wv\)/.test(ua) || (/Android/.test(ua) && /Version\/\d/.test(ua) && /Chrome\//.test(ua))) webview = 'android_webview'
  else if (/iPhone|iPad|iPod/.test(ua) && (!/Safari\//.test(ua) || env?.webkitHandlers === true)) webview = 'ios_wkwebview'

  const inApp = IN_APP.find(([, re]) => re.test(ua))?.[0] ?? null
  return { engine, browser, mobile, privacy, webview, inApp }
}
