/**
 * Canonical JSON: the one byte-exact encoding that the SDK signs and the collector
 * re-derives before verifying. Object keys are sorted by UTF-16 code units, there is
 * no whitespace, numbers and strings use the ECMAScript JSON forms (as RFC 8785, JCS).
 *
 * The collector canonicalises the object it parsed, so a client that signed any other
 * form (JSON.stringify key order, pretty printing, a different number format) fails
 * verification instead of being silently accepted.
 *
 * DOM-free and Node-free: shared by the SDK, the collector and the trainer.
 */

export class CanonicalEncodingError extends Error {
  override readonly name = 'CanonicalEncodingError'
}

/** Deeper values are refused: payloads are shallow and recursion must stay bounded. */
export const MAX_CANONICAL_DEPTH = 32

/** Every item (holes included) a finite number, or every item a string. */
function isFlat(items: readonly unknown[]): boolean {
  if (items.length === 0) return true
  const kind = typeof items[0]
  if (kind !== 'number' && kind !== 'string') return false
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (typeof item !== kind || (kind === 'number' && !Number.isFinite(item))) return false
  }
  return true
}

export function canonicalize(value: unknown): string {
  return encode(value, 0)
}

function encode(value: unknown, depth: number): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalEncodingError('non-finite number')
      return JSON.stringify(value)
    case 'string':
      return JSON.stringify(value)
    case 'object':
      break
    default:
      throw new CanonicalEncodingError(`unsupported type: ${typeof value}`)
  }
  if (depth >= MAX_CANONICAL_DEPTH) throw new CanonicalEncodingError('nesting too deep')
  if (Array.isArray(value)) {
    // The trace's columns are long arrays of numbers: JSON.stringify writes them exactly as
    // item-by-item encoding would (ECMAScript number forms), many times faster.
    if (isFlat(value)) return JSON.stringify(value)
    let out = '['
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (item === undefined) throw new CanonicalEncodingError('undefined array item')
      if (i > 0) out += ','
      out += encode(item, depth + 1)
    }
    return out + ']'
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalEncodingError('only plain objects and arrays can be encoded')
  }
  const record = value as Record<string, unknown>
  // Default sort compares UTF-16 code units, which is what RFC 8785 prescribes.
  const keys = Object.keys(record).sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    const item = record[key]
    // Absent and undefined are the same once the JSON has crossed the wire.
    if (item === undefined) continue
    if (!first) out += ','
    first = false
    out += JSON.stringify(key) + ':' + encode(item, depth + 1)
  }
  return out + '}'
}
