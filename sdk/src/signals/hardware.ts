/** Hardware the browser reports; compared with the same values seen from a Web Worker. */
export interface HardwareSignal {
  cores: number | null
  memory: number | null
  touchPoints: number
  languages: string[]
}

export function getHardware(): HardwareSignal {
  const n = navigator as { deviceMemory?: number }
  return {
    cores: typeof navigator.hardwareConcurrency === 'number' ? navigator.hardwareConcurrency : null,
    memory: typeof n.deviceMemory === 'number' ? n.deviceMemory : null,
    touchPoints: navigator.maxTouchPoints ?? 0,
    languages: Array.from(navigator.languages ?? []).slice(0, 10),
  }
}
