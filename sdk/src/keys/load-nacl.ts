// In the ESM build this is a regular code-split chunk. The IIFE build swaps this file
// for load-nacl.iife.ts (see rollup.config.mjs), which loads the chunk next to the script.
import type * as Nacl from './nacl'

export const loadNacl = (): Promise<typeof Nacl> => import('./nacl')
