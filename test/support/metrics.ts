/** Reads a collector's /metrics as Prometheus would: with the metrics token from its data directory. */
import { readFileSync } from 'node:fs'
import { metricsTokenPath } from '../../collector-server/src/config/metrics-token'

function metricsHeaders(dataDir: string): Record<string, string> {
  return { authorization: `Bearer ${readFileSync(metricsTokenPath(dataDir), 'utf8').trim()}` }
}

export function fetchMetrics(url: string, dataDir: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/metrics`, { ...init, headers: { ...metricsHeaders(dataDir), ...(init.headers as Record<string, string> | undefined) } })
}
