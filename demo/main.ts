/**
 * `npm start`: the collector with the development-only demo site, and the demo shop
 * mounted in the same process on the same port (127.0.0.1:$PORT, default 8080).
 * Arguments are the collector's (`--store`, `--data-dir`, …: vigil-collector --help).
 */
import { runCli } from 'vigil/collector'
import { demoShop } from './server'

const shop = demoShop()
runCli(['--demo', ...process.argv.slice(2)], {
  plugins: [shop.plugin],
  onListening(server) {
    shop.connect(server.url)
    return [`  demo shop   ${server.url}/`]
  },
}).catch((err: unknown) => {
  console.error(`vigil demo: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
