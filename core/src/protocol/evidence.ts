/**
 * Platform evidence: what speaks *for* a request instead of against it. A genuine app on
 * a genuine device (App Attest, Play Integrity) or a device an issuer vouched for
 * without identifying it (a Private Access Token, RFC 9577/9578). Verified evidence
 * lowers the risk score; docs/reasons.md lists how much, docs/webview.md how each is
 * checked.
 */
export const EVIDENCE_KINDS = ['app_attest', 'play_integrity', 'private_token'] as const

export type EvidenceKind = (typeof EVIDENCE_KINDS)[number]

export const isEvidenceKind = (kind: string): kind is EvidenceKind => (EVIDENCE_KINDS as readonly string[]).includes(kind)
