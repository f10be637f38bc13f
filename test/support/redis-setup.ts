// Global setup for every test project: one redis-server for the run, shared by URL.
import type { TestProject } from 'vitest/node'
import { startRedis } from './redis'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis()
  project.provide('redisUrl', redis.url)
  return () => redis.stop()
}
