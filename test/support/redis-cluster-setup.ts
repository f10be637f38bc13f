// Global setup for the unit project: one local Redis Cluster (3 masters, 3 replicas) for the run,
// shared by URL, so that the store contract and the routes also run on a Cluster ('redis-cluster').
import type { TestProject } from 'vitest/node'
import { startRedisCluster } from './redis-cluster'

declare module 'vitest' {
  export interface ProvidedContext {
    redisClusterUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster()
  project.provide('redisClusterUrl', cluster.url)
  return () => cluster.stop()
}
