/**
 * npx tsx scripts/collect-stages.ts [--bodies 2000]
 *
 * What each body-only stage of a collect costs, one at a time, on the collect benchmark's
 * bodies (captured signals and a person's 600-event trace, each with its own challenge):
 * the parse, the canonical encoding, the signature check, the trace's expansion, features
 * and sketch, the trace's whole analysis, the payload's (the trace's with the signal
 * detectors and the proof: what a scoring thread does after the signature), and what
 * handing the parsed trace or body to a thread would cost in serialisation (v8.serialize:
 * the structured clone postMessage does). docs/performance.md ("Scoring threads") reads
 * these figures. Microseconds per body, mean of three passes
 * after one warm-up pass, in this one process.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serialize } from 'node:v8'
import { parseArgs } from 'node:util'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'
import { signingInput } from '@vigil-risk/core/protocol/payload'
import { expandTrace } from '@vigil-risk/core/protocol/trace'
import { extractFeatures } from '@vigil-risk/core/features'
import { bodiesFor, writeUnlimitedDemoSite } from '../bench/suites/collect'
import { importDeviceKey, verifyDeviceSignature } from '../collector-server/src/verify/signature'
import { traceSketch } from '../collector-server/src/risk/replay'
import { analyseTrace } from '../collector-server/src/risk/trace-analysis'
import { analysePayload } from '../collector-server/src/risk/payload-analysis'
import { loadKeyring } from '../collector-server/src/config/keyring'
import { openChallenge } from '../collector-server/src/verify/challenge'

const { values } = parseArgs({ options: { bodies: { type: 'string', default: '2000' } } })
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-stages-'))
writeUnlimitedDemoSite(dataDir)
const raws = bodiesFor(dataDir, Number(values.bodies), false)
const bodies = raws.map((raw) => JSON.parse(raw) as CollectBody)
const keys = bodies.map((b) => importDeviceKey(b.payload.device.pub)!.key)
const messages = bodies.map((b) => signingInput(b.payload))
const events = bodies.map((b) => expandTrace(b.payload.behavior!.trace))
const challengeKey = loadKeyring(dataDir).challengeKey
const challenges = bodies.map((b) => openChallenge(challengeKey, b.payload.challenge)!)

function stage(name: string, fn: (i: number) => unknown): void {
  for (let i = 0; i < bodies.length; i++) fn(i)
  const start = process.hrtime.bigint()
  for (let pass = 0; pass < 3; pass++) for (let i = 0; i < bodies.length; i++) fn(i)
  const us = Number(process.hrtime.bigint() - start) / 1e3 / (3 * bodies.length)
  console.log(`${name.padEnd(36)} ${us.toFixed(1).padStart(7)} µs`)
}

console.log(`${bodies.length} bodies of ${raws[0]!.length} bytes`)
stage('JSON.parse of the body', (i) => JSON.parse(raws[i]!))
stage('canonical encoding (signing input)', (i) => signingInput(bodies[i]!.payload))
stage('Ed25519 verify', (i) => verifyDeviceSignature(keys[i]!, messages[i]!, bodies[i]!.sig))
stage('expanding the trace', (i) => expandTrace(bodies[i]!.payload.behavior!.trace))
stage('features', (i) => extractFeatures(events[i]!))
stage('replay sketch', (i) => traceSketch(events[i]!))
stage('the whole analysis (analyseTrace)', (i) => analyseTrace(bodies[i]!.payload.behavior))
stage("the payload's (analysePayload)", (i) => analysePayload(bodies[i]!.payload, challenges[i]!))
stage('serialising the parsed trace', (i) => serialize(bodies[i]!.payload.behavior!.trace))
stage('serialising the parsed body', (i) => serialize(bodies[i]!))
