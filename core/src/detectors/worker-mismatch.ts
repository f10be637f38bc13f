import { valueOf, type Detection, type Environment, type Signals } from './types'

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * The main thread and a fresh Web Worker must agree on who the browser is. Evasion
 * scripts patch the page, not its workers.
 */
export function detectWorkerMismatch(signals: Signals, env: Environment): Detection | undefined {
  const worker = valueOf(signals, 'worker')
  const agent = valueOf(signals, 'userAgent')
  const hardware = valueOf(signals, 'hardware')
  if (!worker || !agent || !hardware) return undefined
  const fields: string[] = []
  if (worker.ua !== agent.ua) fields.push('userAgent')
  if (worker.platform !== agent.platform) fields.push('platform')
  if (worker.brands !== null && agent.brands !== null && !same(worker.brands, agent.brands)) fields.push('brands')
  if (!same(worker.languages, hardware.languages)) fields.push('languages')
  // Privacy browsers randomise these per context on purpose.
  const farbled = env.privacy.length > 0
  if (!farbled && worker.cores !== null && hardware.cores !== null && worker.cores !== hardware.cores) fields.push('hardwareConcurrency')
  if (!farbled && worker.memory !== null && hardware.memory !== null && worker.memory !== hardware.memory) fields.push('deviceMemory')
  const tz = valueOf(signals, 'timezone')
  if (tz && typeof worker.offset === 'number' && (worker.offset !== tz.offset || (worker.zoneName ?? null) !== (tz.name ?? null))) fields.push('timeZone')
  if (fields.length === 0) return undefined
  return { code: 'tampering', detector: 'worker_mismatch', detail: `main thread and worker disagree on ${fields.join(',')}` }
}
