/**
 * Private Access Tokens (RFC 9577/9578) in the Vigil protocol: the SDK asks the collector
 * for a token challenge bound to the collector challenge it holds, by its redemption
 * context = SHA-256(PRIVATE_TOKEN_CONTEXT ‖ challenge), and carries the collector's receipt
 * into the collect (payload.privateToken). collector-server/src/evidence/private-token.ts
 * verifies; docs/webview.md describes the flow.
 */
export const PRIVATE_TOKEN_CONTEXT = 'vigil/private-token/v1\n'

/** The text whose SHA-256 is the redemption context for `challenge`. */
export const privateTokenContextInput = (challenge: string): string => PRIVATE_TOKEN_CONTEXT + challenge
