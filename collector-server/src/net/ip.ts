/**
 * Client addresses as the collector groups them. One IPv6 client usually holds a whole
 * /64 (SLAAC, privacy addresses), so anything keyed per client uses the /64: otherwise a
 * single host gets 2^64 rate-limit buckets. An IPv4 client is its address. Networks (a
 * home, an office, a carrier's NAT pool) are the IPv4 /24 and the IPv6 /64.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net'

/**
 * The client's address as the collector keys and stores it, from what the trusted proxies
 * said (`forwarded`: Fastify's request.ip) and the connection's peer. Some load balancers
 * write `address:port` (Azure's Application Gateway): the port is dropped. An entry that is
 * no address at all (`unknown`, or anything a misconfigured chain passes on from a client)
 * would give whoever wrote it a rate-limit bucket and a linking key of its own for every
 * string: such a request is keyed on its peer, the last proxy, instead.
 */
export function clientAddress(forwarded: string | undefined, peer: string | undefined): string {
  if (forwarded !== undefined && isIP(forwarded)) return forwarded
  const withPort = forwarded === undefined ? null : /^(?:(\d+\.\d+\.\d+\.\d+)|\[([0-9A-Fa-f:.]+)\]):\d{1,5}$/.exec(forwarded)
  const stripped = withPort?.[1] ?? withPort?.[2]
  if (stripped !== undefined && isIP(stripped)) return stripped
  return peer ?? forwarded ?? ''
}

/** The key for per-client limits: the IPv4 address, or the IPv6 /64 (`2001:db8:1:2::/64`). */
export function clientBucket(ip: string): string {
  const v4 = mappedV4(ip)
  if (v4) return v4
  return isIPv6(ip) ? `${v6Prefix64(ip)}/64` : ip
}

/** A loopback host name or address: browsers treat it as a secure context. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * The network a client is on, for weighing what it claims: an IPv4 /24 (`203.0.113.0/24`)
 * or an IPv6 /64. Clients on one network are often one household, office or farm.
 */
export function networkOf(ip: string): string {
  const v4 = mappedV4(ip)
  if (v4) return `${v4.split('.').slice(0, 3).join('.')}.0/24`
  return isIPv6(ip) ? `${v6Prefix64(ip)}/64` : ip
}

/** An IPv4 address, also when written as an IPv4-mapped IPv6 address (::ffff:1.2.3.4). */
function mappedV4(ip: string): string | null {
  if (isIPv4(ip)) return ip
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  return m && isIPv4(m[1]!) ? m[1]! : null
}

/** The first four groups of an IPv6 address, expanded and lower-cased: `2001:db8:0:1::`. */
function v6Prefix64(ip: string): string {
  const address = ip.split('%')[0]!.toLowerCase()
  const [head, tail] = address.includes('::') ? address.split('::') as [string, string] : [address, '']
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  // An embedded IPv4 tail (::ffff:… already handled) counts as two groups.
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16)).join(':')}::`
}
