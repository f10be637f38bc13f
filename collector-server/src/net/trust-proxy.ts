/**
 * Which proxies the collector believes about the client's address. Load balancers
 * *append* the address they saw to X-Forwarded-For, so only the entries your own proxies
 * added are true: everything to their left was written by the client. The collector
 * therefore trusts either a number of hops (your proxies, counted from the collector) or
 * the addresses of your proxies (CIDRs), and takes the first address that is not one of
 * them. Trusting every entry (Fastify's `trustProxy: true`) would hand the client its
 * own rate-limit bucket and linking key: it is refused.
 */
import { isIP } from 'node:net'

/** Hops (1: one proxy such as nginx in front), or your proxies' addresses and CIDRs. */
export type TrustProxy = number | readonly string[]

/** The most proxies a request can pass through before reaching the collector. */
const MAX_HOPS = 10

class TrustProxyError extends Error {
  override readonly name = 'TrustProxyError'
}

function checkCidr(entry: string): string {
  const [address, prefix, extra] = entry.split('/')
  const family = isIP(address ?? '')
  if (!family || extra !== undefined) throw new TrustProxyError(`trust proxy: "${entry}" is not an IP address or CIDR`)
  if (prefix !== undefined) {
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN
    const max = family === 4 ? 32 : 128
    if (!(bits >= 1 && bits <= max)) throw new TrustProxyError(`trust proxy: "${entry}" needs a prefix length from 1 to ${max} (a /0 would trust every client)`)
  }
  return entry
}

/** Checks a TrustProxy given in code; returns it unchanged. Throws TrustProxyError. */
function checkTrustProxy(value: TrustProxy): TrustProxy {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > MAX_HOPS) throw new TrustProxyError(`trust proxy: hops must be an integer from 0 to ${MAX_HOPS}, not ${value}`)
    return value
  }
  if (!Array.isArray(value) || value.length === 0) throw new TrustProxyError('trust proxy: give a hop count or a non-empty list of proxy addresses')
  return value.map(checkCidr)
}

/**
 * `--trust-proxy` / `VIGIL_TRUST_PROXY`: a hop count (`1`) or a comma-separated list of
 * proxy addresses and CIDRs (`10.0.0.0/8,2001:db8::/32`). `true`, `all` and `*` are refused.
 */
export function parseTrustProxy(text: string): TrustProxy {
  const value = text.trim()
  if (/^\d+$/.test(value)) return checkTrustProxy(Number(value))
  if (/^(true|yes|all|\*)$/i.test(value)) {
    throw new TrustProxyError(`trust proxy: "${value}" would believe any X-Forwarded-For a client writes; give the number of proxies in front of the collector (e.g. 1) or their addresses (e.g. 10.0.0.0/8)`)
  }
  return checkTrustProxy(value.split(',').map((s) => s.trim()).filter(Boolean))
}

/**
 * The trustProxy option for Fastify. A hop count becomes a function: Fastify 5 turns a
 * number into "trust nothing". proxy-addr calls it with each address from the socket
 * outwards (i = 0 is the peer), and stops at the first it does not trust.
 */
export function fastifyTrustProxy(value: TrustProxy | undefined): false | string[] | ((address: string, i: number) => boolean) {
  if (value === undefined || value === 0) return false
  const checked = checkTrustProxy(value)
  if (typeof checked === 'number') return (_address, i) => i < checked
  return [...checked]
}
