#!/usr/bin/env node
// npm start: build what is missing or stale (the SDK the shop loads), then run the demo app
// (demo/main.ts): the collector with the demo shop on 127.0.0.1:$PORT (default 8080) and
// the embedded SQLite store under ./data/.
import { spawn } from 'node:child_process'
import { ensureBuilt } from './build.mjs'

ensureBuilt()
const child = spawn(process.execPath, ['--import', 'tsx', 'demo/main.ts', ...process.argv.slice(2)], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
