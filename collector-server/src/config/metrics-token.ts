/**
 * The bearer token that reads /metrics on the public port (VIGIL_METRICS_TOKEN, else
 * VIGIL_DATA_DIR/keys/metrics.token, generated on first start). Metrics say which reasons
 * fire and how often: read before and after a collect, they would tell a bot which of its
 * tricks failed. Prometheus scrapes with the token, or from --metrics-port, a listener of
 * its own on 127.0.0.1 that needs none.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createOnce } from './files'

export const metricsTokenPath = (dataDir: string): string => join(dataDir, 'keys', 'metrics.token')

export function loadMetricsToken(dataDir: string): string {
  const fromEnv = process.env['VIGIL_METRICS_TOKEN']
  if (fromEnv !== undefined && fromEnv.length > 0) {
    if (fromEnv.length < 22) throw new Error('VIGIL_METRICS_TOKEN must be at least 22 characters (128 bits)')
    return fromEnv
  }
  return createOnce(metricsTokenPath(dataDir), () => randomBytes(24).toString('base64url') + '\n').trim()
}
