/**
 * Sites: who may ask this collector for tokens. Kept in VIGIL_DATA_DIR/sites.json,
 * created on first start with the development-only `demo` site.
 *
 *   { "sites": [ { "siteKey": "shop", "secret": "…", "origins": ["https://shop.example", "https://*.shop.example"] } ] }
 *
 * Origin patterns: an exact origin, `*.` before the host for any subdomain, `:*` for any port.
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import { accountSalt } from 'vigil/verify'
import { makePolicy, type PolicyConfig, type SitePolicy } from '../risk/policy'
import { join } from 'node:path'
import { SITE_KEY_PATTERN } from '@vigil-risk/core/protocol/payload'
import { TOKEN_MAX_TTL_S } from '@vigil-risk/core/protocol/token'
import { createOnce } from './files'
import { isTestSiteKey, testSiteConfigs } from './test-keys'
import type { Verdict } from '@vigil-risk/core/protocol/token'

export interface SiteConfig {
  siteKey: string
  secret: string
  origins: string[]
  name?: string
  /** Development sites are marked in tokens' events and logs; never use one in production. */
  development?: boolean
  /** Token lifetime, seconds (≤ 300; default 300). */
  tokenTtlS?: number
  /** Verdict thresholds, per-action settings, linking limits, rate limits (docs/operations.md). */
  policy?: PolicyConfig
  /** Test keys only (config/test-keys.ts): every token gets this verdict. Not settable in sites.json. */
  testVerdict?: Verdict
}

export interface Site extends Readonly<Omit<SiteConfig, 'policy'>> {
  tokenTtlS: number
  policy: SitePolicy
  /** The salt the SDK hashes account identifiers with: public, derived from the secret. */
  accountSalt: string
  /** Any http(s) origin for a test key; the listed patterns otherwise. */
  allowsOrigin(origin: string): boolean
  allowsHostname(hostname: string): boolean
  secretMatches(candidate: string): boolean
}

export const DEMO_SITE: SiteConfig = {
  siteKey: 'demo',
  secret: 'demo-secret',
  name: 'Vigil demo shop (development only: the secret is public)',
  origins: ['http://127.0.0.1:*', 'http://localhost:*'],
  development: true,
}

interface OriginPattern {
  scheme: string
  host: string
  wildcardSubdomain: boolean
  /** A port number, or '*' for any. */
  port: string
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' }

function parsePattern(pattern: string): OriginPattern {
  const m = /^(https?):\/\/(\*\.)?([a-z0-9.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}|\*))?$/i.exec(pattern)
  if (!m) throw new Error(`bad origin pattern: ${pattern}`)
  const scheme = `${m[1]!.toLowerCase()}:`
  return { scheme, wildcardSubdomain: m[2] !== undefined, host: m[3]!.toLowerCase(), port: m[4] ?? DEFAULT_PORT[scheme]! }
}

function hostMatches(p: OriginPattern, hostname: string): boolean {
  return p.wildcardSubdomain ? hostname.endsWith(`.${p.host}`) : hostname === p.host
}

export function makeSite(config: SiteConfig): Site {
  if (!SITE_KEY_PATTERN.test(config.siteKey)) throw new Error(`bad siteKey: ${config.siteKey}`)
  if (typeof config.secret !== 'string' || config.secret.length < 8) throw new Error(`site ${config.siteKey}: secret must be at least 8 characters`)
  if (!Array.isArray(config.origins) || config.origins.length === 0) throw new Error(`site ${config.siteKey}: origins is empty`)
  // A test key takes any http(s) page; a real site lists its origins.
  const anyOrigin = config.testVerdict !== undefined
  const patterns = anyOrigin ? [] : config.origins.map(parsePattern)
  const tokenTtlS = Math.min(TOKEN_MAX_TTL_S, Math.max(10, config.tokenTtlS ?? TOKEN_MAX_TTL_S))
  const secretDigest = createHash('sha256').update(config.secret).digest()
  return {
    ...config,
    tokenTtlS,
    policy: makePolicy(config.policy),
    accountSalt: accountSalt(config.secret, config.siteKey),
    allowsOrigin(origin) {
      let url: URL
      try {
        url = new URL(origin)
      } catch {
        return false
      }
      if (url.origin !== origin) return false
      if (anyOrigin) return url.protocol === 'https:' || url.protocol === 'http:'
      const port = url.port || DEFAULT_PORT[url.protocol] || ''
      return patterns.some((p) => p.scheme === url.protocol && hostMatches(p, url.hostname) && (p.port === '*' || p.port === port))
    },
    allowsHostname(hostname) {
      return anyOrigin || patterns.some((p) => hostMatches(p, hostname.toLowerCase()))
    },
    secretMatches(candidate) {
      // Compare digests: constant time whatever the lengths.
      return typeof candidate === 'string' && timingSafeEqual(createHash('sha256').update(candidate).digest(), secretDigest)
    },
  }
}

export interface SiteRegistry {
  get(siteKey: string): Site | undefined
  list(): Site[]
}

export interface RegistryOptions {
  /** Add the test keys (test-allow, test-review, test-deny; default true). */
  testKeys?: boolean
}

export function siteRegistry(configs: SiteConfig[], options: RegistryOptions = {}): SiteRegistry {
  const sites = new Map<string, Site>()
  for (const config of configs) {
    if (sites.has(config.siteKey)) throw new Error(`duplicate siteKey: ${config.siteKey}`)
    if (isTestSiteKey(config.siteKey)) throw new Error(`siteKey ${config.siteKey} is reserved for a test key`)
    if (config.testVerdict !== undefined) throw new Error(`site ${config.siteKey}: testVerdict is for the built-in test keys only`)
    sites.set(config.siteKey, makeSite(config))
  }
  if (options.testKeys !== false) for (const config of testSiteConfigs()) sites.set(config.siteKey, makeSite(config))
  return { get: (siteKey) => sites.get(siteKey), list: () => [...sites.values()] }
}

export const sitesPath = (dataDir: string): string => join(dataDir, 'sites.json')

function parseSites(text: string): SiteConfig[] {
  const parsed = JSON.parse(text) as { sites?: SiteConfig[] }
  if (!Array.isArray(parsed.sites)) throw new Error('sites.json: "sites" must be an array')
  return parsed.sites
}

/** Reads sites.json from the data directory (or `file`), creating it with the demo site on first start. */
export function loadSites(dataDir: string, file?: string, options: RegistryOptions = {}): SiteRegistry {
  const text = createOnce(file ?? sitesPath(dataDir), () => JSON.stringify({ sites: [DEMO_SITE] }, null, 2) + '\n')
  return siteRegistry(parseSites(text), options)
}
