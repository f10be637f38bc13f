/** Hardware the browser reports; compared with the same values seen from a Web Worker. */
import type { HardwareSignal } from '@vigil-risk/core/protocol/signals'

export function getHardware(): HardwareSignal {
  const n = navigator as { deviceMemory?: number }
  return {
    cores: typeof navigator.hardwareConcurrency === 'number' ? navigator.hardwareConcurrency : null,
    memory: typeof n.deviceMemory === 'number' ? n.deviceMemory : null,
    touchPoints: navigator.maxTouchPoints ?? 0,
    languages: Array.from(navigator.languages ?? []).slice(0, 10),
  }
}
