import { scriptBase } from '../script-base'

export const loadClassifier = (): Promise<typeof import('./chunk')> =>
  import(/* webpackIgnore: true */ new URL('vigil-classifier.mjs', scriptBase).href) as Promise<typeof import('./chunk')>
