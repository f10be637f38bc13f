// The baseline for the collect benchmark: a bare Fastify route that parses the JSON body
// and verifies one Ed25519 signature over it with node:crypto, nothing else.
import Fastify from 'fastify'
import { createPublicKey, verify } from 'node:crypto'

const app = Fastify({ bodyLimit: 96 * 1024 })
app.removeContentTypeParser('application/json')
app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
  try {
    done(null, { text: body, json: JSON.parse(body) })
  } catch (err) {
    done(err)
  }
})
const keys = new Map()
app.post('/verify', async (request, reply) => {
  const { text, json } = request.body
  let key = keys.get(json.payload.device.pub)
  if (!key) keys.set(json.payload.device.pub, (key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: json.payload.device.pub }, format: 'jwk' })))
  const ok = verify(null, Buffer.from(text), key, Buffer.from(request.headers['x-signature'], 'base64url'))
  return reply.code(ok ? 200 : 401).send({ ok })
})
await app.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1' })
console.log(`bare on http://127.0.0.1:${app.server.address().port}`)
