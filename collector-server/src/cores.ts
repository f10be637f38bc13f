/**
 * How many cores this process may use: what the scheduler gives it
 * (`os.availableParallelism()`, which honours CPU affinity), capped by a Linux cgroup CPU
 * quota (a container's `--cpus`, a pod's CPU limit). Node 20's libuv (1.46) ignores the
 * quota, so a collector in a one-CPU container on a 32-core host would start 32 workers
 * (`--workers auto`) or 4 scoring threads beside one core. A fractional quota rounds down, to
 * at least 1, as later libuv does.
 */
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

/** Reads a file's text, or null when it is not there. */
export type ReadText = (path: string) => string | null

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** `path` and each directory above it, up to '/'. */
function ancestors(path: string): string[] {
  const out: string[] = []
  let p = path.replace(/\/+$/, '') || '/'
  for (;;) {
    out.push(p)
    if (p === '/') return out
    p = p.slice(0, p.lastIndexOf('/')) || '/'
  }
}

const join = (root: string, dir: string, file: string): string => `${root}${dir === '/' ? '' : dir}/${file}`

/**
 * The CPU quota of this process's cgroup, in cores (quota ÷ period, the tightest of its
 * cgroup and the cgroups above it), or null when none is set or none can be read. cgroup v2
 * (`cpu.max`) and v1 (`cpu.cfs_quota_us` ÷ `cpu.cfs_period_us`).
 */
export function cgroupCpuQuota(read: ReadText = readText, root = '/sys/fs/cgroup'): number | null {
  const table = read('/proc/self/cgroup')
  if (!table) return null
  const quotas: number[] = []
  for (const line of table.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? []
    if (controllers === undefined || path === undefined) continue
    if (controllers === '') {
      // v2: "max 100000" (no quota) or "150000 100000".
      for (const dir of ancestors(path)) {
        const [quota, period] = (read(join(root, dir, 'cpu.max')) ?? '').trim().split(/\s+/)
        if (quota && quota !== 'max' && Number(period) > 0) quotas.push(Number(quota) / Number(period))
      }
    } else if (controllers.split(',').includes('cpu')) {
      // v1: the cpu controller, mounted alone or with cpuacct; a quota of -1 is none.
      for (const mount of new Set([controllers, 'cpu', 'cpu,cpuacct', 'cpuacct,cpu'])) {
        for (const dir of ancestors(path)) {
          const quota = Number(read(join(`${root}/${mount}`, dir, 'cpu.cfs_quota_us')))
          const period = Number(read(join(`${root}/${mount}`, dir, 'cpu.cfs_period_us')))
          if (quota > 0 && period > 0) quotas.push(quota / period)
        }
      }
    }
  }
  return quotas.length > 0 ? Math.min(...quotas) : null
}

/** The cores this process may use: the scheduler's count, capped by a cgroup CPU quota. */
export function usableCores(read: ReadText = readText, root = '/sys/fs/cgroup', scheduler = availableParallelism()): number {
  const quota = cgroupCpuQuota(read, root)
  return quota === null ? scheduler : Math.max(1, Math.min(scheduler, Math.floor(quota)))
}
