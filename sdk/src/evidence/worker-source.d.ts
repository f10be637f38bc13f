/** The evidence worker's code, built by rollup.config.mjs from ./worker.ts. */
declare module 'vigil:evidence-worker' {
  const source: string
  export default source
}
