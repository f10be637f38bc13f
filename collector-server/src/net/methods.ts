/**
 * Which methods a path is served under, from the routes as they are registered: a request
 * for a path that exists under other methods gets 405 with `Allow` (RFC 9110, 15.5.6), not
 * the 404 of a path that does not exist.
 */
import type { FastifyInstance } from 'fastify'

interface RoutePattern {
  matches: RegExp
  methods: Set<string>
}

/** `/v1/x` exactly, `:name` one segment, a trailing `*` anything below. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}$`)
}

/** Register before the routes: the returned function names the methods that serve a path. */
export function routeMethods(app: FastifyInstance): (path: string) => string[] {
  const byUrl = new Map<string, RoutePattern>()
  app.addHook('onRoute', (route) => {
    let entry = byUrl.get(route.url)
    if (!entry) {
      entry = { matches: patternOf(route.url), methods: new Set() }
      byUrl.set(route.url, entry)
    }
    for (const method of [route.method].flat()) entry.methods.add(method)
  })
  return (path) => {
    const methods = new Set<string>()
    for (const entry of byUrl.values()) if (entry.matches.test(path)) for (const method of entry.methods) methods.add(method)
    return [...methods].sort()
  }
}
