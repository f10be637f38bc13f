/**
 * The wire format, defined once: JSON Schemas (TypeBox) that the collector validates
 * every request with, and the TypeScript types the SDK builds requests with, derived
 * from the same schemas (`Static<>`). A field added here is a field both sides know.
 *
 * The SDK imports only types from this module (erased at build time), so the schema
 * library never reaches the browser bundle.
 */
import Type, { type Static } from 'typebox'
import {
  ACCOUNT_HASH_PATTERN,
  ACTION_PATTERN,
  DEVICE_ID_LENGTH,
  MAX_TRACE_EVENTS,
  PROTOCOL_VERSION,
  PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  SITE_KEY_PATTERN,
} from './payload'
import { TELEMETRY_CODES, TELEMETRY_MAX_REPORTS } from './telemetry'
import { PROBE_NAMES, PROBE_SEED_BYTES, TEXT_GLYPHS, TEXT_STRINGS, TZ_INSTANTS } from './probes'
import { POW_MAX_BITS, POW_NONCE_BYTES } from './pow'
import { base64urlLength } from './base64url'

/** Canonical unpadded base64url. */
const B64U = '^[A-Za-z0-9_-]+$'
const b64u = (length: number, description: string) => Type.String({ minLength: length, maxLength: length, pattern: B64U, description })
const matching = (re: RegExp, description?: string) => Type.String({ pattern: re.source, ...(description ? { description } : {}) })

export const SiteKey = matching(SITE_KEY_PATTERN)
export const Action = matching(ACTION_PATTERN, 'What the user is doing: "checkout", "login", "coupon/claim".')

export const KeyImpl = Type.Union([Type.Literal('webcrypto'), Type.Literal('tweetnacl')], {
  description: 'Where the private key lives: a non-extractable WebCrypto key, or tweetnacl in script memory.',
})

export const DeviceClaim = Type.Object({
  id: b64u(DEVICE_ID_LENGTH, 'Derived from the first public key; stable for as long as the key is kept.'),
  pub: b64u(PUBLIC_KEY_LENGTH, 'Raw Ed25519 public key.'),
  impl: KeyImpl,
  persisted: Type.Boolean({ description: 'Whether the key survives a reload (IndexedDB or storage was available).' }),
})

export const FingerprintClaim = Type.Union([
  Type.Null(),
  Type.Object({
    visitorId: Type.String({ maxLength: 64 }),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    ms: Type.Number({ minimum: 0, description: 'How long the fingerprint took to collect, ms.' }),
  }),
])

const column = (description: string) => Type.Array(Type.Number(), { maxItems: MAX_TRACE_EVENTS, description })

/** The behaviour trace, columnar and delta-encoded: about 15 bytes of JSON per event (trace.ts). */
export const CompactTrace = Type.Object({
  k: column('Index into EVENT_TYPES.'),
  t: column('Time since the previous event (first: since the trace start), in 0.1 ms.'),
  x: column('Change in x since the previous positioned event, px.'),
  y: column('Change in y since the previous positioned event, px.'),
  b: column('button for mouse buttons, dx for wheel; 0 otherwise.'),
  c: column('dy for wheel; 0 otherwise.'),
})

export const ClientScore = Type.Object(
  {
    score: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
    model: Type.String({ maxLength: 64 }),
    ms: Type.Number({ minimum: 0 }),
  },
  { description: "The on-device classifier's score of the trace: a hint, re-scored by the collector." },
)

export const BehaviorClaim = Type.Object(
  {
    trace: CompactTrace,
    summary: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 64 }),
    client: Type.Optional(ClientScore),
    challengeAt: Type.Optional(
      Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
        description: "When the challenge arrived, in the trace's time (ms from its start); null when it arrived after the trace's last event.",
      }),
    ),
  },
  { description: 'What the behaviour recorder holds when the token is requested.' },
)

export const AttestationClaim = Type.Object(
  {
    platform: Type.String({ maxLength: 32, description: "'android' | 'ios' (or another platform a verifier knows)." }),
    kind: Type.String({ maxLength: 32, description: "'play_integrity' | 'app_attest' | … : picks the verifier." }),
    token: Type.String({
      maxLength: 16384,
      description: 'The platform\'s evidence: for app_attest, JSON {"keyId", "attestation" | "assertion"} (base64); for play_integrity, the integrity token (docs/webview.md).',
    }),
    nonce: Type.String({ maxLength: 64, description: 'The nonce the app requested the attestation with (attestation.ts).' }),
  },
  { description: "A native app's platform attestation, bound to this payload." },
)

/** A probe the page could not run (no canvas, an exception): the code says why. */
const ProbeError = Type.Object({ e: Type.String({ maxLength: 64 }) })
const widths = (n: number, description: string) => Type.Array(Type.Number({ minimum: 0, maximum: 10_000 }), { minItems: n, maxItems: n, description })

export const Proof = Type.Object(
  {
    pow: Type.Optional(Type.Object({ n: b64u(base64urlLength(POW_NONCE_BYTES), 'The proof-of-work nonce (pow.ts).') })),
    text: Type.Optional(
      Type.Union([
        Type.Object({
          g: widths(TEXT_GLYPHS, "The plan's glyphs, measured one by one in its font."),
          s: widths(TEXT_STRINGS, "The plan's strings in its font."),
          m: widths(TEXT_STRINGS, 'The same strings in monospace.'),
        }),
        ProbeError,
      ]),
    ),
    tz: Type.Optional(
      Type.Union([Type.Object({ o: Type.Array(Type.Integer({ minimum: -1440, maximum: 1440 }), { minItems: TZ_INSTANTS, maxItems: TZ_INSTANTS, description: 'Date.getTimezoneOffset() at the plan\'s instants.' }) }), ProbeError]),
    ),
  },
  { description: "Answers to the challenge's probes and its proof of work (probes.ts, pow.ts): computed for this challenge only." },
)

export const CollectPayload = Type.Object({
  v: Type.Literal(PROTOCOL_VERSION),
  siteKey: SiteKey,
  action: Action,
  challenge: Type.String({ minLength: 1, maxLength: 512, description: 'The challenge string exactly as the collector issued it.' }),
  ts: Type.Number({ description: 'Client clock, epoch ms: informational (clocks are wrong); freshness comes from the challenge.' }),
  hostname: Type.String({ maxLength: 253, description: 'location.hostname: never a path, never a query string.' }),
  sdk: Type.String({ maxLength: 32, description: 'SDK version.' }),
  device: DeviceClaim,
  fp: FingerprintClaim,
  signals: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
    maxProperties: 128,
    description: "Named signals (core/src/protocol/signals.ts), judged by the collector's detectors; unknown names are ignored.",
  }),
  account: Type.Optional(matching(ACCOUNT_HASH_PATTERN, "The salted hash of the page's account identifier (payload.ts).")),
  behavior: Type.Optional(BehaviorClaim),
  attestation: Type.Optional(AttestationClaim),
  proof: Type.Optional(Proof),
  privateToken: Type.Optional(
    Type.String({ maxLength: 512, description: "The collector's receipt for a Private Access Token presented for this challenge (GET /v1/private-token)." }),
  ),
})

export const CollectBody = Type.Object({
  payload: CollectPayload,
  sig: b64u(SIGNATURE_LENGTH, 'Ed25519 signature over signingInput(payload).'),
})

export const ChallengeQuery = Type.Object({
  siteKey: SiteKey,
  device: Type.Optional(b64u(DEVICE_ID_LENGTH, 'The device id the collect will be signed under: a device with a good history is asked for less work.')),
})

export const ChallengeResponse = Type.Object({
  challenge: Type.String(),
  expiresAt: Type.Integer({ description: 'Epoch ms after which the challenge is refused.' }),
  siteKey: Type.String(),
  accountSalt: Type.String({ description: 'Salt the SDK hashes account identifiers with (docs/protocol.md).' }),
  seed: b64u(base64urlLength(PROBE_SEED_BYTES), 'Derives the probe plan (probes.ts).'),
  probes: Type.Array(Type.Enum(PROBE_NAMES), { description: 'The probes to answer.' }),
  difficulty: Type.Integer({ minimum: 0, maximum: POW_MAX_BITS, description: 'Leading zero bits the proof of work must reach (0: none).' }),
  privateToken: Type.Optional(Type.Boolean({ description: 'The site accepts Private Access Tokens: browsers that support them may fetch one (GET /v1/private-token).' })),
})

export const CollectResponse = Type.Object({
  token: Type.String(),
  expiresAt: Type.Integer({ description: 'Epoch ms after which the token is refused.' }),
})

/** GET /v1/private-token: the collector's challenge, by the redemption context the SDK computed from it. */
export const PrivateTokenQuery = Type.Object({
  siteKey: SiteKey,
  context: b64u(43, 'base64url(SHA-256("vigil/private-token/v1\\n" ‖ the collector challenge)): the TokenChallenge redemption context.'),
})

export const PrivateTokenResponse = Type.Object({
  status: Type.Union([Type.Literal('verified'), Type.Literal('unverified'), Type.Literal('failed')]),
  reason: Type.Optional(Type.String({ description: 'Why the token did not verify (docs/webview.md).' })),
  issuer: Type.Optional(Type.String({ description: 'The issuer that vouched for the device.' })),
  receipt: Type.String({ description: 'Put it in the next collect for this challenge, as payload.privateToken.' }),
})

export const TelemetryReport = Type.Object({
  code: Type.Enum(TELEMETRY_CODES),
  status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'HTTP status, for collector_error.' })),
  serverCode: Type.Optional(Type.String({ maxLength: 64, description: "The collector's error code, for collector_error." })),
  action: Action,
  ms: Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'How long the call took before it failed, ms.' }),
  at: Type.Integer({ minimum: 0, description: "When it failed (epoch ms, the device's clock)." }),
})

export const TelemetryBody = Type.Object({
  v: Type.Literal(1),
  siteKey: SiteKey,
  sdk: Type.String({ maxLength: 32 }),
  reports: Type.Array(TelemetryReport, { minItems: 1, maxItems: TELEMETRY_MAX_REPORTS }),
  dropped: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Reports this page dropped because the queue was full.' }),
})

export type KeyImpl = Static<typeof KeyImpl>
export type DeviceClaim = Static<typeof DeviceClaim>
export type FingerprintClaim = NonNullable<Static<typeof FingerprintClaim>>
export type CompactTrace = Static<typeof CompactTrace>
export type BehaviorClaim = Static<typeof BehaviorClaim>
export type AttestationClaim = Static<typeof AttestationClaim>
export type CollectPayload = Static<typeof CollectPayload>
export type CollectBody = Static<typeof CollectBody>
export type ChallengeResponse = Static<typeof ChallengeResponse>
export type Proof = Static<typeof Proof>
export type CollectResponse = Static<typeof CollectResponse>
export type PrivateTokenResponse = Static<typeof PrivateTokenResponse>
export type TelemetryReport = Static<typeof TelemetryReport>
export type TelemetryBody = Static<typeof TelemetryBody>
