/**
 * Facts that classify the browsing environment (privacy browser, webview, in-app
 * browser) so that detectors can tell "unusual" from "automated".
 */
export interface EnvironmentSignal {
  /** Brave exposes navigator.brave. */
  brave: boolean
  /** window.chrome exists (every Chromium browser, headless included). */
  chromeObject: boolean
  /** WKWebView exposes window.webkit.messageHandlers. */
  webkitHandlers: boolean
  /** In-app browser bridges present in the page. */
  bridges: string[]
  /** A Vigil native bridge is present (see docs/webview.md). */
  vigilBridge: boolean
  /** iOS home-screen web app. */
  standalone: boolean | null
}

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
