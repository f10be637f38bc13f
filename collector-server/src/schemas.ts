/** Request and response schemas (JSON Schema via TypeBox): the HTTP contract in one place. */
import Type from 'typebox'
import { ACCOUNT_HASH_PATTERN, ACTION_PATTERN, SITE_KEY_PATTERN } from '../../sdk/src/protocol/payload'
import { MAX_TRACE_EVENTS } from '../../sdk/src/protocol/trace'
import { TELEMETRY_CODES, TELEMETRY_MAX_REPORTS } from '../../sdk/src/protocol/telemetry'

const pattern = (re: RegExp): string => re.source

export const SiteKeyQuery = Type.Object({ siteKey: Type.String({ pattern: pattern(SITE_KEY_PATTERN) }) })

export const ChallengeResponse = Type.Object({
  challenge: Type.String(),
  expiresAt: Type.Integer({ description: 'Epoch ms after which the challenge is refused.' }),
  siteKey: Type.String(),
  accountSalt: Type.String({ description: 'Salt the SDK hashes account identifiers with (docs/protocol.md).' }),
})

const B64U = '^[A-Za-z0-9_-]+$'

export const DeviceClaim = Type.Object({
  id: Type.String({ minLength: 22, maxLength: 22, pattern: B64U }),
  pub: Type.String({ minLength: 43, maxLength: 43, pattern: B64U }),
  impl: Type.Union([Type.Literal('webcrypto'), Type.Literal('tweetnacl')]),
  persisted: Type.Boolean(),
})

export const FingerprintClaim = Type.Union([
  Type.Null(),
  Type.Object({
    visitorId: Type.String({ maxLength: 64 }),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    ms: Type.Number({ minimum: 0 }),
  }),
])

const NumberColumn = Type.Array(Type.Number(), { maxItems: MAX_TRACE_EVENTS })

export const CollectPayload = Type.Object({
  v: Type.Literal(1),
  siteKey: Type.String({ pattern: pattern(SITE_KEY_PATTERN) }),
  action: Type.String({ pattern: pattern(ACTION_PATTERN) }),
  challenge: Type.String({ minLength: 1, maxLength: 512 }),
  ts: Type.Number(),
  hostname: Type.String({ maxLength: 253 }),
  sdk: Type.String({ maxLength: 32 }),
  device: DeviceClaim,
  fp: FingerprintClaim,
  signals: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 128 }),
  account: Type.Optional(Type.String({ pattern: pattern(ACCOUNT_HASH_PATTERN), description: 'Salted hash of the account identifier.' })),
  behavior: Type.Optional(
    Type.Object({
      trace: Type.Object({
        k: NumberColumn,
        t: NumberColumn,
        x: NumberColumn,
        y: NumberColumn,
        b: NumberColumn,
        c: NumberColumn,
      }),
      summary: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 64 }),
      client: Type.Optional(
        Type.Object({
          score: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
          model: Type.String({ maxLength: 64 }),
          ms: Type.Number({ minimum: 0 }),
        }),
      ),
    }),
  ),
  attestation: Type.Optional(
    Type.Object({
      platform: Type.String({ maxLength: 32 }),
      kind: Type.String({ maxLength: 32 }),
      token: Type.String({ maxLength: 16384 }),
      nonce: Type.String({ maxLength: 64 }),
    }),
  ),
})

export const CollectBody = Type.Object({
  payload: CollectPayload,
  sig: Type.String({ minLength: 86, maxLength: 86, pattern: B64U }),
})

export const CollectResponse = Type.Object({
  token: Type.String(),
  expiresAt: Type.Integer({ description: 'Epoch ms after which the token is refused.' }),
})

export const SiteverifyBody = Type.Object({
  secret: Type.String({ minLength: 1, maxLength: 256 }),
  token: Type.String({ minLength: 1, maxLength: 8192 }),
})

export const SiteverifyResponse = Type.Object({
  success: Type.Boolean(),
  score: Type.Optional(Type.Number()),
  verdict: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('review'), Type.Literal('deny')])),
  reasons: Type.Optional(Type.Array(Type.String())),
  action: Type.Optional(Type.String()),
  siteKey: Type.Optional(Type.String()),
  deviceId: Type.Optional(Type.String()),
  hostname: Type.Optional(Type.String()),
  issuedAt: Type.Optional(Type.String({ description: 'ISO 8601' })),
  account: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  behavior: Type.Optional(
    Type.Union([
      Type.Null(),
      Type.Object({ server: Type.Union([Type.Number(), Type.Null()]), client: Type.Union([Type.Number(), Type.Null()]), model: Type.String() }),
    ]),
  ),
  errorCodes: Type.Optional(Type.Array(Type.String())),
})

export const TelemetryBody = Type.Object({
  v: Type.Literal(1),
  siteKey: Type.String({ pattern: pattern(SITE_KEY_PATTERN) }),
  sdk: Type.String({ maxLength: 32 }),
  reports: Type.Array(
    Type.Object({
      code: Type.Union(TELEMETRY_CODES.map((c) => Type.Literal(c))),
      status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
      serverCode: Type.Optional(Type.String({ maxLength: 64 })),
      action: Type.String({ pattern: pattern(ACTION_PATTERN) }),
      ms: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
      at: Type.Integer({ minimum: 0 }),
    }),
    { minItems: 1, maxItems: TELEMETRY_MAX_REPORTS },
  ),
  dropped: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
})

export const TelemetryResponse = Type.Object({ accepted: Type.Integer() })
