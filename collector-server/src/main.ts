/** The `vigil-collector` executable (bin/vigil-collector.js): runs the CLI, reports a failure in one line. */
import { runCli } from './cli'

runCli(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`vigil-collector: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
