/**
 * Facts that classify the browsing environment (privacy browser, webview, in-app
 * browser) so that detectors can tell "unusual" from "automated".
 */
import type { EnvironmentSignal } from '@vigil-risk/core/protocol/signals'

const BRIDGES = ['WeixinJSBridge', 'ToutiaoJSBridge', 'TTJSBridge', 'AlipayJSBridge', 'FBNavigator', 'KakaoTalk', 'ReactNativeWebView', 'flutter_inappwebview', 'Android']

export function getEnvironment(): EnvironmentSignal {
  const w = window as unknown as Record<string, unknown> & { webkit?: { messageHandlers?: unknown } }
  const standalone = (navigator as { standalone?: unknown }).standalone
  return {
    brave: 'brave' in navigator,
    chromeObject: typeof w['chrome'] === 'object' && w['chrome'] !== null,
    webkitHandlers: typeof w.webkit?.messageHandlers === 'object',
    bridges: BRIDGES.filter((name) => name in w),
    vigilBridge: 'VigilNative' in w || (typeof w.webkit?.messageHandlers === 'object' && 'vigil' in (w.webkit.messageHandlers as object)),
    standalone: typeof standalone === 'boolean' ? standalone : null,
  }
}
