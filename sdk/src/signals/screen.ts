/**
 * Window and screen geometry, in CSS px. Device-metrics emulation (DevTools protocol)
 * shows as a viewport exactly the size of the "screen" inside a window larger than it.
 */
import type { ScreenSignal } from '@vigil-risk/core/protocol/signals'

export function getScreen(): ScreenSignal {
  return {
    inner: [innerWidth, innerHeight],
    outer: [outerWidth, outerHeight],
    screen: [screen.width, screen.height],
    avail: [screen.availWidth, screen.availHeight],
    dpr: devicePixelRatio,
    position: [screenX, screenY],
  }
}
