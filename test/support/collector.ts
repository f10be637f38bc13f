/** A real collector on a loopback port with a fresh data directory, for end-to-end tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { startServer, type RunningServer, type ServerOptions } from '../../collector-server/src/server'
import { demoShop } from '../../demo/server'
import { remoteJwks, verifyToken, type VerifiedToken } from '../../verify/src/index'
import type { Detection, Environment } from '@vigil-risk/core/detectors'
import type { EvidenceOutcome } from '../../collector-server/src/evidence/outcome'

export interface Inspection extends VerifiedToken {
  detections: Detection[]
  environment: Environment
  attestation: string
  /** Platform evidence and its outcomes (App Attest, Play Integrity, Private Access Tokens). */
  evidence: EvidenceOutcome[]
}

export interface TestCollector extends RunningServer {
  dataDir: string
  /** Verifies a demo-site token and joins the event the collector stored for it. */
  inspect(token: string): Promise<Inspection>
}

export async function startTestCollector(options: ServerOptions = {}): Promise<TestCollector> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'vigil-test-'))
  const shop = demoShop()
  const server = await startServer({ port: 0, host: '127.0.0.1', dataDir, plugins: [shop.plugin], ...options })
  shop.connect(server.url)
  const jwks = remoteJwks(`${server.url}/.well-known/jwks.json`)
  return {
    ...server,
    dataDir,
    async inspect(token) {
      const verified = await verifyToken(token, { secret: 'demo-secret', siteKey: 'demo', jwks })
      const db = new Database(`${dataDir}/vigil.db`, { readonly: true })
      try {
        const row = db.prepare('SELECT detail FROM events WHERE id = ?').get(verified.jti) as { detail: string } | undefined
        const detail = JSON.parse(row?.detail ?? '{}') as { detections?: Detection[]; environment?: Environment; attestation?: string; evidence?: EvidenceOutcome[] }
        return { ...verified, detections: detail.detections ?? [], environment: detail.environment!, attestation: detail.attestation ?? 'absent', evidence: detail.evidence ?? [] }
      } finally {
        db.close()
      }
    },
    async close() {
      await server.close()
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
