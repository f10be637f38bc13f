/**
 * Native functions that are no longer native. Evasion kits (puppeteer-extra's stealth,
 * undetected drivers, "antidetect" browsers run as scripts) replace getters and methods
 * with JavaScript, usually behind a Proxy and a patched Function.prototype.toString.
 * Each check below is one that a genuine native function passes in every engine:
 *
 *  - toString   Function.prototype.toString prints `function name() { [native code] }`
 *  - prototype  native methods and getters have no `prototype` property
 *  - keys       their own properties are exactly `length` and `name`
 *  - stack      (V8) a native called with a bad receiver throws from native code, so the
 *               first stack frame is the caller; a Proxy trap or wrapper adds its own frame
 *  - receiver   that call throws at all (a plain JavaScript replacement usually does not)
 *  - data       an accessor was replaced by a plain value
 *
 * Targets are grouped: `identity` APIs (what the browser claims to be) and `privacy`
 * APIs that anti-fingerprinting extensions patch for their users (reported, and
 * classified, but never punished as tampering).
 */
import type { LiesSignal } from '@vigil-risk/core/protocol/signals'

type Group = 'identity' | 'privacy'
interface Target {
  group: Group
  name: string
  fn: () => unknown
  kind: 'get' | 'method'
  /** Calling it with `{}` as receiver must throw (true for platform-object members). */
  throwsOnBadReceiver: boolean
}

import { sliced } from './slice'

const NATIVE_SOURCE = /^function (get |set )?[\w$]*\(\) \{\s*\[native code\]\s*\}$/

function describe(group: Group, owner: unknown, ownerName: string, props: string[], throwsOnBadReceiver = true): Target[] {
  const out: Target[] = []
  if (!owner) return out
  for (const prop of props) {
    const descriptor = Object.getOwnPropertyDescriptor(owner, prop)
    if (!descriptor) continue
    if (descriptor.get) {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with explicit receivers only
      out.push({ group, name: `${ownerName}.${prop}`, fn: descriptor.get, kind: 'get', throwsOnBadReceiver })
    } else if (typeof descriptor.value === 'function') {
      out.push({ group, name: `${ownerName}.${prop}`, fn: descriptor.value as () => unknown, kind: 'method', throwsOnBadReceiver })
    }
  }
  return out
}

function proto(name: string): unknown {
  const ctor = (window as unknown as Record<string, { prototype?: unknown } | undefined>)[name]
  return ctor?.prototype
}

function targets(): Target[] {
  return [
    ...describe('identity', proto('Navigator'), 'Navigator', [
      'userAgent', 'platform', 'vendor', 'languages', 'language', 'hardwareConcurrency', 'deviceMemory',
      'maxTouchPoints', 'plugins', 'mimeTypes', 'webdriver', 'userAgentData', 'permissions',
    ]),
    ...describe('identity', proto('Screen'), 'Screen', ['width', 'height', 'availWidth', 'availHeight', 'colorDepth']),
    ...describe('identity', proto('Permissions'), 'Permissions', ['query'], false),
    ...describe('identity', proto('WebGLRenderingContext'), 'WebGLRenderingContext', ['getParameter', 'getExtension']),
    ...describe('identity', proto('WebGL2RenderingContext'), 'WebGL2RenderingContext', ['getParameter']),
    ...describe('identity', proto('HTMLIFrameElement'), 'HTMLIFrameElement', ['contentWindow']),
    ...describe('identity', Function.prototype, 'Function', ['toString']),
    ...describe('identity', Object, 'Object', ['getOwnPropertyDescriptor', 'getOwnPropertyNames', 'defineProperty'], false),
    ...describe('privacy', proto('HTMLCanvasElement'), 'HTMLCanvasElement', ['toDataURL', 'toBlob', 'getContext']),
    ...describe('privacy', proto('CanvasRenderingContext2D'), 'CanvasRenderingContext2D', ['getImageData', 'measureText']),
    ...describe('privacy', proto('AudioBuffer'), 'AudioBuffer', ['getChannelData']),
    ...describe('privacy', proto('Element'), 'Element', ['getBoundingClientRect', 'getClientRects']),
    ...describe('privacy', proto('Date'), 'Date', ['getTimezoneOffset'], false),
  ]
}

/**
 * The script of the first JavaScript stack frame, V8 format ("    at f (url:1:2)" or
 * "    at url:1:2"). V8 also lists built-ins ("at Object.toString (<anonymous>)"); they
 * have no line numbers and are skipped: only JavaScript can be a wrapper.
 */
function firstFrameSource(stack: string | undefined): string | null {
  for (const line of stack?.split('\n') ?? []) {
    if (!line.trimStart().startsWith('at ')) continue
    const m = /\(?([^()\s]+):\d+:\d+\)?\s*$/.exec(line)
    if (m) return m[1]!
  }
  return null
}

function check(target: Target, here: string | null, v8: boolean, lies: string[]): void {
  const label = `${target.group}:${target.name}`
  const fn = target.fn
  let source: string
  try {
    source = Function.prototype.toString.call(fn)
  } catch {
    lies.push(`${label}:toString`)
    return
  }
  if (!NATIVE_SOURCE.test(source)) lies.push(`${label}:toString`)
  if ('prototype' in fn) lies.push(`${label}:prototype`)
  const keys = Object.getOwnPropertyNames(fn).sort().join(',')
  if (keys !== 'length,name') lies.push(`${label}:keys`)
  if (!target.throwsOnBadReceiver) return
  try {
    fn.call(Object.create(null))
    lies.push(`${label}:receiver`)
  } catch (err) {
    if (v8 && here !== null) {
      const frame = firstFrameSource((err as Error | null)?.stack)
      if (frame !== null && frame !== here) lies.push(`${label}:stack`)
    }
  }
}

/** Replaceable window attributes that evasion scripts overwrite with plain values. */
function windowData(lies: string[]): void {
  for (const prop of ['outerWidth', 'outerHeight', 'innerWidth', 'innerHeight', 'screen', 'navigator']) {
    const d = Object.getOwnPropertyDescriptor(window, prop)
    if (d && !d.get) lies.push(`identity:window.${prop}:data`)
  }
  if (Object.getPrototypeOf(navigator) !== proto('Navigator')) lies.push('identity:navigator:prototype')
}

export async function getLies(): Promise<LiesSignal> {
  const lies: string[] = []
  // V8 ("Error\n    at …") is the only stack format whose frames we rely on.
  const reference = new Error().stack
  const v8 = typeof reference === 'string' && /^Error\n\s+at /.test(reference)
  const here = firstFrameSource(reference)
  const list = targets()
  const errorCtor = Error as { stackTraceLimit?: number }
  await sliced(list, (target) => {
    // Two frames are all the stack check reads; capturing fewer keeps it cheap.
    const limit = errorCtor.stackTraceLimit
    if (v8) errorCtor.stackTraceLimit = 3
    try {
      check(target, here, v8, lies)
    } finally {
      if (v8) errorCtor.stackTraceLimit = limit ?? 10
    }
  })
  windowData(lies)
  return { lies: lies.slice(0, 64), checked: list.length }
}
