/**
 * The same identity facts as seen from a dedicated Web Worker. Evasion scripts patch
 * the page's main thread; workers get a fresh, unpatched navigator and WebGL, so a
 * mismatch is tampering. Null where workers are unavailable or blocked (CSP).
 */
import type { WorkerSignal } from '@vigil-risk/core/protocol/signals'

const TIMEOUT_MS = 1500

/** Runs inside the worker; stringified, so it must stand alone. */
function workerMain(): void {
  const scope = self as unknown as { postMessage(m: unknown): void; navigator: Navigator & { deviceMemory?: number; userAgentData?: { brands?: Array<{ brand: string; version: string }> } } }
  const nav = scope.navigator
  let webglVendor: string | null = null
  let webglRenderer: string | null = null
  try {
    const gl = new OffscreenCanvas(1, 1).getContext('webgl')
    const info = gl && gl.getExtension('WEBGL_debug_renderer_info')
    if (gl && info) {
      webglVendor = String(gl.getParameter(info.UNMASKED_VENDOR_WEBGL))
      webglRenderer = String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL))
    }
  } catch {
    // No OffscreenCanvas WebGL in this browser.
  }
  let zone: string | null = null
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  } catch {
    // Intl missing.
  }
  const date = new Date()
  const named = /\(([^)]+)\)\s*$/.exec(date.toString())
  scope.postMessage({
    ua: nav.userAgent,
    platform: nav.platform,
    cores: typeof nav.hardwareConcurrency === 'number' ? nav.hardwareConcurrency : null,
    memory: typeof nav.deviceMemory === 'number' ? nav.deviceMemory : null,
    languages: Array.prototype.slice.call(nav.languages || [], 0, 10),
    brands: nav.userAgentData && nav.userAgentData.brands ? nav.userAgentData.brands.map((b) => b.brand + '/' + b.version) : null,
    webglVendor,
    webglRenderer,
    zone,
    offset: date.getTimezoneOffset(),
    zoneName: named ? named[1] : null,
  })
}

export function getWorker(): Promise<WorkerSignal | null> {
  return new Promise((resolve, reject) => {
    let worker: Worker
    let url: string
    try {
      url = URL.createObjectURL(new Blob([`(${workerMain.toString()})()`], { type: 'text/javascript' }))
      worker = new Worker(url)
    } catch {
      resolve(null) // Blocked by CSP, or no workers.
      return
    }
    const done = (): void => {
      clearTimeout(timer)
      worker.terminate()
      URL.revokeObjectURL(url)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error('timeout'))
    }, TIMEOUT_MS)
    worker.onmessage = (event: MessageEvent<WorkerSignal>) => {
      done()
      resolve(event.data)
    }
    worker.onerror = () => {
      done()
      resolve(null)
    }
  })
}
