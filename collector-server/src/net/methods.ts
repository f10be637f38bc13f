/**
 * Which methods a path is served under, from the routes as they are registered: a request
 * for a path that exists under other methods gets 405 with `Allow` (RFC 9110, 15.5.6), not
 * the 404 of a path that does not exist. Routes that end in a wildcard (directories of
 * files: the SDK's, the dashboard's, the demo shop's at `/*`) name no path of their own and
 * are left out: under them a path exists only where a file does.
 */
import type { FastifyInstance } from 'fastify'

interface RoutePattern {
  matches: RegExp
  methods: Set<string>
}

/** `/v1/x` exactly, `:name` one segment. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}$`)
}

/** Register before the routes: `of` names the methods that serve a path, `all` every method any route serves. */
export function routeMethods(app: FastifyInstance): { of(url: string): string[]; all(): string[] } {
  const byUrl = new Map<string, RoutePattern>()
  const every = new Set<string>()
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) every.add(method)
    if (route.url.includes('*')) return
    let entry = byUrl.get(route.url)
    if (!entry) {
      entry = { matches: patternOf(route.url), methods: new Set() }
      byUrl.set(route.url, entry)
    }
    for (const method of [route.method].flat()) entry.methods.add(method)
  })
  return {
    of(url) {
      const path = decodedPath(url)
      const methods = new Set<string>()
      for (const entry of byUrl.values()) if (entry.matches.test(path)) for (const method of entry.methods) methods.add(method)
      return [...methods].sort()
    },
    all: () => [...every].sort(),
  }
}

/** The path as the router matches it: percent-decoded, reserved characters (`%2F`) kept. */
function decodedPath(url: string): string {
  const path = url.split('?', 1)[0]!
  try {
    return decodeURI(path)
  } catch {
    return path
  }
}
