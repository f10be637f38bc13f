// ESM build: an ordinary code-split chunk. The IIFE build swaps this file for
// load.iife.ts, which loads the chunk file served beside vigil.min.js.
export const loadClassifier = (): Promise<typeof import('./chunk')> => import('./chunk')
