/** A real collector on a loopback port with a fresh data directory, for end-to-end tests. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { startServer, type RunningServer, type ServerOptions } from '../../collector-server/src/server'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
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

/**
 * `workBits`: the demo site asks new devices for this much proof of work instead of the
 * default, for tests of other things that get many tokens in a loaded browser (written to
 * the data directory's sites.json when there is none yet).
 */
export async function startTestCollector(options: ServerOptions & { workBits?: number } = {}): Promise<TestCollector> {
  const { workBits, ...serverOptions } = options
  options = serverOptions
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'vigil-test-'))
  if (workBits !== undefined && !existsSync(join(dataDir, 'sites.json'))) {
    writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, policy: { proofOfWork: { newDevice: workBits } } }] }))
  }
  const shop = demoShop()
  const server = await startServer({ port: 0, host: '127.0.0.1', dataDir, plugins: [shop.plugin], demo: true, ...options })
  shop.connect(server.url)
  const jwks = remoteJwks(`${server.url}/.well-known/jwks.json`)
  return {
    ...server,
    dataDir,
    async inspect(token) {
      const verified = await verifyToken(token, { secret: 'demo-secret', siteKey: 'demo', jwks, action: null, hostname: null })
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
