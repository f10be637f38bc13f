import type { ErrorCode } from './errors'
import type { Keyring } from './config/keyring'
import type { SiteRegistry } from './config/sites'
import type { Metrics } from './metrics'
import type { Store } from './stores/types'
import type { X509Certificate } from 'node:crypto'
import type { AttestationVerifier } from './evidence/check'
import type { CollectScorer } from './risk/scoring-pool'

export interface Clock {
  /** Epoch ms. */
  now(): number
}

/** What routes share. Keyring and sites are read through getters so a reload takes effect at once. */
export interface AppContext {
  store: Store
  keyring(): Keyring
  sites(): SiteRegistry
  clock: Clock
  metrics: Metrics
  issuer: string
  attestationVerifiers: Readonly<Record<string, AttestationVerifier>>
  /** App Attest trust anchors (Apple's App Attestation root). */
  appAttestRoots: readonly X509Certificate[]
  /** Checks collects' signatures and analyses their traces: on scoring threads, or inline (risk/scoring-pool.ts). */
  scorer: CollectScorer
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Called by the error handler when this route refuses a request, whoever threw: the
     * route counts its own outcomes (metrics, the dashboard's failure counters).
     */
    onRefused?: (request: FastifyRequest, code: ErrorCode) => void
  }
  interface FastifyRequest {
    /** The client's address (net/ip.ts clientAddress): use it, not `ip`. Set by an onRequest hook (app.ts). */
    clientIp: string
    /** The body's text as received, without a byte-order mark: set by the collect route's parser (routes/collect.ts), on its requests only. */
    collectText: string | null
  }
}
