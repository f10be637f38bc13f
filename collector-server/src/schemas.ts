/**
 * The schemas of what only the collector and merchant backends exchange (siteverify,
 * queries). What the SDK sends and receives is core/src/protocol/schema.ts.
 */
import Type from 'typebox'
import { Action } from '@vigil-risk/core/protocol/schema'

export const SiteverifyBody = Type.Object({
  secret: Type.String({ minLength: 1, maxLength: 256, description: "The site's siteverify secret." }),
  token: Type.String({ minLength: 1, maxLength: 8192 }),
  acceptTestTokens: Type.Optional(Type.Boolean({ description: "Accept a test key's token (your own test runs only); refused with test_token otherwise." })),
  action: Type.Optional(Action),
  hostname: Type.Optional(Type.String({ maxLength: 253, description: 'The hostname your page is served on: another is wrong_hostname. Empty for a page without one (a local file in a webview).' })),
  account: Type.Optional(
    Type.String({ minLength: 1, maxLength: 256, description: 'The account this request acts for, as the page gave it to getToken: hashed on arrival, never stored; another is wrong_account.' }),
  ),
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
  test: Type.Optional(Type.Literal(true, { description: "Present on a test key's token." })),
  errorCodes: Type.Optional(Type.Array(Type.String())),
})

export const TelemetryResponse = Type.Object({ accepted: Type.Integer() })
