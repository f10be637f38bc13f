// ESM build: an ordinary code-split chunk. The IIFE build swaps this file for
// load.iife.ts, which loads the chunk file served beside vigil.min.js.
import type * as Chunk from './chunk'

export const loadClassifier = (): Promise<typeof Chunk> => import('./chunk')
