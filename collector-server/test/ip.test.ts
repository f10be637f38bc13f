import { describe, expect, it } from 'vitest'
import { clientBucket, networkOf } from '../src/net/ip'

describe('client buckets', () => {
  it('keys IPv4 clients by address, also when IPv4-mapped', () => {
    expect(clientBucket('203.0.113.7')).toBe('203.0.113.7')
    expect(clientBucket('::ffff:203.0.113.7')).toBe('203.0.113.7')
  })

  it('keys IPv6 clients by /64, however the address is written', () => {
    for (const ip of ['2001:db8:0:1::1', '2001:0db8:0000:0001:ffff:ffff:ffff:ffff', '2001:DB8:0:1:a:b:c:d', '2001:db8::1:0:0:0:7']) {
      expect(clientBucket(ip), ip).toBe('2001:db8:0:1::/64')
    }
    expect(clientBucket('2001:db8:0:2::1')).not.toBe(clientBucket('2001:db8:0:1::1'))
    expect(clientBucket('::1')).toBe('0:0:0:0::/64')
    expect(clientBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
  })

  it('networks are IPv4 /24s and IPv6 /64s', () => {
    expect(networkOf('203.0.113.7')).toBe('203.0.113.0/24')
    expect(networkOf('::ffff:203.0.113.200')).toBe('203.0.113.0/24')
    expect(networkOf('203.0.114.7')).not.toBe(networkOf('203.0.113.7'))
    expect(networkOf('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64')
    expect(networkOf('unknown')).toBe('unknown')
    expect(networkOf('2001:db8::1:0:0:0:7')).toBe('2001:db8:0:1::/64')
  })

  it('passes through what is not an address', () => {
    expect(clientBucket('unknown')).toBe('unknown')
  })
})
