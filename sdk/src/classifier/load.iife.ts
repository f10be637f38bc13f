import type * as Chunk from './chunk'
import { scriptBase } from '../script-base'

export const loadClassifier = (): Promise<typeof Chunk> =>
  import(/* webpackIgnore: true */ new URL('vigil-classifier.mjs', scriptBase).href) as Promise<typeof Chunk>
