/** cores.ts: a container's CPU quota caps the cores the collector sizes its workers and threads by. */
import { describe, expect, it } from 'vitest'
import { cgroupCpuQuota, usableCores, type ReadText } from '../src/cores'

const files = (map: Record<string, string>): ReadText => (path) => map[path] ?? null

describe('usable cores', () => {
  it('reads a cgroup v2 quota, the tightest of the cgroup and those above it', () => {
    const self = { '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n' }
    expect(cgroupCpuQuota(files({ ...self, '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '150000 100000\n' }))).toBe(1.5)
    expect(cgroupCpuQuota(files({ ...self, '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000', '/sys/fs/cgroup/kubepods/cpu.max': '400000 100000' }))).toBe(4)
    expect(cgroupCpuQuota(files({ ...self, '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '300000 100000', '/sys/fs/cgroup/kubepods/pod1/cpu.max': '50000 100000' }))).toBe(0.5)
    // A container with its own cgroup namespace sees itself at the root.
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000' }))).toBe(2)
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBeNull()
  })

  it('reads a cgroup v1 quota, where -1 is none', () => {
    const table = '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n'
    const v1 = (quota: string) =>
      files({ '/proc/self/cgroup': table, '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': quota, '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n' })
    expect(cgroupCpuQuota(v1('250000\n'))).toBe(2.5)
    expect(cgroupCpuQuota(v1('-1\n'))).toBeNull()
  })

  it('caps the scheduler count by the quota, rounding down to at least one', () => {
    const quota = (max: string) => files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': max })
    expect(usableCores(quota('150000 100000'), '/sys/fs/cgroup', 32)).toBe(1)
    expect(usableCores(quota('50000 100000'), '/sys/fs/cgroup', 32)).toBe(1)
    expect(usableCores(quota('800000 100000'), '/sys/fs/cgroup', 4)).toBe(4)
    expect(usableCores(quota('max 100000'), '/sys/fs/cgroup', 6)).toBe(6)
    expect(usableCores(files({}), '/sys/fs/cgroup', 6)).toBe(6)
  })

  it('reads this machine without failing', () => {
    expect(usableCores()).toBeGreaterThanOrEqual(1)
  })
})
