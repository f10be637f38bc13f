import { valueOf, type Detection, type Environment, type Signals } from './types'

const AGREE: Record<string, string> = { default: 'prompt', granted: 'granted', denied: 'denied' }

/**
 * Notification.permission and navigator.permissions.query must agree. Evasion scripts
 * that patch one of them (puppeteer-extra's stealth answers 'denied') break the pair.
 * The old-headless pair (denied/prompt) is the headless detector's.
 */
export function detectPermissions(signals: Signals, env: Environment): Detection | undefined {
  const p = valueOf(signals, 'permissions')
  if (!p || typeof p.notification !== 'string' || typeof p.query !== 'string') return undefined
  if (env.engine === 'blink' && p.notification === 'denied' && p.query === 'prompt') return undefined
  // iOS webviews and some in-app browsers stub one of the two.
  if (env.webview !== null) return undefined
  if (AGREE[p.notification] !== undefined && AGREE[p.notification] !== p.query) {
    return { code: 'tampering', detector: 'permissions', detail: `Notification.permission '${p.notification}' but query says '${p.query}'` }
  }
  return undefined
}
