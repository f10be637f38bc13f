// Replaced at build time with package.json's version (see rollup.config.mjs).
declare const __VIGIL_VERSION__: string | undefined
export const SDK_VERSION: string = typeof __VIGIL_VERSION__ === 'string' ? __VIGIL_VERSION__ : '0.0.0-dev'
