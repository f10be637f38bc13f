/** Loopback ports for the servers tests start. */
import { createServer } from 'node:net'

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1)
  return port!
}

/**
 * `count` distinct ports that were free a moment ago: all are held open together, so that
 * the same port cannot come back twice. Another process can still take one before its
 * server binds it, so a caller checks that its server came up (see spawnRedis).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer())
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject)
            server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
          }),
      ),
    )
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))))
  }
}
