/**
 * `vigil-collector sites …`: add a site with generated credentials, rotate one credential
 * with a grace period, list sites without their secrets. Edits sites.json in place
 * (atomically; fields it does not know are kept); running collectors pick changes up
 * within a second.
 */
import { TOKEN_MAX_TTL_S } from '@vigil-risk/core/protocol/token'
import { createOnce, replaceFile } from './files'
import { CREDENTIAL_ROLES, generateSecret, parseSites, siteRegistry, type CredentialRole, type SiteConfig, type StoredSecret } from './sites'

/** Default grace period: how long the old secret keeps working after a rotation. */
export const DEFAULT_GRACE_MS = 24 * 3600_000

/** `90s`, `30m`, `24h`, `7d`, or `0`. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})(s|m|h|d)?$/.exec(text.trim())
  if (!m) throw new Error(`bad duration: ${text} (e.g. 30m, 24h, 7d, 0)`)
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] ?? 's']!
}

interface SitesFile {
  sites: SiteConfig[]
  [other: string]: unknown
}

function read(file: string): SitesFile {
  const text = createOnce(file, () => JSON.stringify({ sites: [] }, null, 2) + '\n')
  const parsed = JSON.parse(text) as SitesFile
  parseSites(text)
  return parsed
}

/** Writes the file only if the collector would load it (development sites allowed: --demo decides at start). */
function write(file: string, contents: SitesFile): void {
  siteRegistry(contents.sites, { demo: true })
  replaceFile(file, JSON.stringify(contents, null, 2) + '\n')
}

const iso = (t: number): string => new Date(t).toISOString()

/** Adds a site with a generated secret for each role; returns them (shown once: sites.json keeps them). */
export function addSite(file: string, siteKey: string, origins: string[], now: number): Record<CredentialRole, string> {
  const contents = read(file)
  if (contents.sites.some((s) => s.siteKey === siteKey)) throw new Error(`site ${siteKey} exists: rotate its secrets instead`)
  const secrets = Object.fromEntries(CREDENTIAL_ROLES.map((role) => [role, generateSecret(role)])) as Record<CredentialRole, string>
  const site: SiteConfig = {
    siteKey,
    origins,
    secrets: Object.fromEntries(CREDENTIAL_ROLES.map((role) => [role, [{ secret: secrets[role], createdAt: iso(now) }]])),
  }
  write(file, { ...contents, sites: [...contents.sites, site] })
  return secrets
}

export interface Rotation {
  secret: string
  /** When the collector starts sealing with the new secret (seal only; epoch ms). */
  activeFrom: number
  /** When the previous secrets stop working (epoch ms). */
  oldUntil: number
}

/**
 * Adds a new secret for `role` and gives the current ones `grace` to live. For the seal,
 * the grace is when the collector switches to the new secret (your backends must know it
 * by then: pass both to verifyToken), and the old one opens tokens for one token lifetime more.
 */
export function rotateSecret(file: string, siteKey: string, role: CredentialRole, graceMs: number, now: number): Rotation {
  const contents = read(file)
  const site = contents.sites.find((s) => s.siteKey === siteKey)
  if (!site) throw new Error(`no site ${siteKey}`)
  const current = (site.secrets?.[role] ?? (site.secret !== undefined ? [site.secret] : [])).map((e): StoredSecret => (typeof e === 'string' ? { secret: e } : e))
  const activeFrom = role === 'seal' ? now + graceMs : now
  const oldUntil = role === 'seal' ? activeFrom + (TOKEN_MAX_TTL_S + 60) * 1000 : now + graceMs
  const kept = current
    .filter((e) => e.expiresAt === undefined || Date.parse(e.expiresAt) > now)
    .map((e) => ({ ...e, expiresAt: iso(Math.min(oldUntil, e.expiresAt === undefined ? Infinity : Date.parse(e.expiresAt))) }))
  const secret = generateSecret(role)
  const fresh: StoredSecret = { secret, createdAt: iso(now), ...(activeFrom > now ? { notBefore: iso(activeFrom) } : {}) }
  // A site on the one-secret shorthand gets explicit lists, so that the other roles keep theirs.
  const secrets = { ...site.secrets }
  if (site.secret !== undefined) for (const r of CREDENTIAL_ROLES) secrets[r] ??= [site.secret]
  secrets[role] = [fresh, ...kept]
  const { secret: _shorthand, ...rest } = site
  const updated: SiteConfig = { ...rest, secrets }
  write(file, { ...contents, sites: contents.sites.map((s) => (s === site ? updated : s)) })
  return { secret, activeFrom, oldUntil }
}

/** One line per site: key, origins, and per role how many secrets are valid and until when. Never a secret. */
export function describeSites(file: string, now: number): string[] {
  return read(file).sites.map((site) => {
    const roles = CREDENTIAL_ROLES.map((role) => {
      const entries = (site.secrets?.[role] ?? (site.secret !== undefined ? [site.secret] : [])).map((e) => (typeof e === 'string' ? { secret: e } : e))
      const live = entries.filter((e) => e.expiresAt === undefined || Date.parse(e.expiresAt) > now)
      const ending = live.map((e) => e.expiresAt).filter((x): x is string => x !== undefined).sort()[0]
      return `${role} ${live.length}${ending ? ` (one ends ${ending})` : ''}`
    })
    return `${site.siteKey}${site.development ? ' [development]' : ''}  ${site.origins.join(' ')}  ${roles.join(', ')}`
  })
}
