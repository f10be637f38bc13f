/** The proof worker's code, built by rollup.config.mjs from ./worker.ts. */
declare module 'vigil:proof-worker' {
  const source: string
  export default source
}
