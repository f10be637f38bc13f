// IIFE builds cannot code-split, so the chunk is a separate ES module file served
// beside vigil.min.js (see rollup.config.mjs).
import type * as Nacl from './nacl'
import { scriptBase } from '../script-base'

export const loadNacl = (): Promise<typeof Nacl> =>
  import(/* webpackIgnore: true */ new URL('vigil-nacl.mjs', scriptBase).href) as Promise<typeof Nacl>
