/**
 * A token naming thousands of clients (a user in many workspaces): `TokenSource.verify` and
 * `TokenSource.resolve` time per call, retained heap per principal, and the catalogue cache's byte
 * estimate, against an in-memory realm export with one client per workspace.
 *
 *   node --expose-gc --import tsx bench/token-many-clients.ts [clients=5000]
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { ManualClock } from '../src/core/clock.js'
import { RealmExportSource, TokenSource } from '../src/keycloak/index.js'
import { estimateCatalogueBytes } from '../src/keycloak/catalogue-cache.js'

const clients = Number(process.argv[2] ?? 5_000)
const ISS = 'http://127.0.0.1:8180/realms/bench'
const NOW = 1767225600

const gc = (globalThis as { gc?: () => void }).gc
const heap = () => {
  gc?.()
  return process.memoryUsage().heapUsed
}

async function timeIt(label: string, runs: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(5, runs); i++) await fn()
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    await fn()
    samples.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  samples.sort((a, b) => a - b)
  const median = samples[Math.floor(samples.length / 2)]!
  console.log(`${label}: median ${median.toFixed(2)} ms (min ${samples[0]!.toFixed(2)}, max ${samples.at(-1)!.toFixed(2)}, ${runs} runs)`)
  return median
}

async function main() {
  const { privateKey, publicKey } = await generateKeyPair('RS256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  const workspaces = Array.from({ length: clients }, (_, i) => `ws-${String(i).padStart(5, '0')}`)
  const realm = new RealmExportSource({
    realm: 'bench',
    clients: workspaces.map((clientId) => ({ clientId })),
    roles: {
      realm: [{ name: 'default-roles-bench' }],
      client: Object.fromEntries(workspaces.map((ws) => [ws, [{ name: 'ws_access', attributes: { workspace: [ws] } }, { name: 'ws_admin' }]])),
    },
    users: [{ username: 'alice', realmRoles: ['default-roles-bench'] }],
  })
  const resourceAccess = Object.fromEntries(workspaces.map((ws) => [ws, { roles: ['ws_access'] }]))
  const token = await new SignJWT({
    iss: ISS, aud: 'workspace-api', typ: 'Bearer', sub: 'u-alice', preferred_username: 'alice', iat: NOW, exp: NOW + 300,
    realm_access: { roles: ['default-roles-bench'] }, resource_access: resourceAccess,
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .sign(privateKey)
  console.log(`token naming ${clients} clients: ${(token.length / 1024).toFixed(0)} KiB`)

  const clock = new ManualClock(NOW * 1000)
  const tokens = new TokenSource({ issuers: [ISS], audience: 'workspace-api', jwks: { keys: [jwk] }, clock, catalogue: realm })

  let t = process.hrtime.bigint()
  const first = await tokens.resolve(token)
  console.log(`first resolve (cold catalogue, ${clients + 1} loads): ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms; ${Object.keys(first.clientRoles).length} clients in the principal`)
  let bytes = estimateCatalogueBytes(await realm.realmRoles())
  for (const ws of workspaces) bytes += estimateCatalogueBytes(await realm.clientRoles(ws))
  console.log(`catalogue estimate for the ${clients} clients: ${(bytes / 1024 / 1024).toFixed(2)} MiB of the 32 MiB default bound`)

  await timeIt('verify', 30, () => tokens.verify(token))
  await timeIt('resolve (warm catalogue)', 30, () => tokens.resolve(token))

  const before = heap()
  const kept: unknown[] = []
  for (let i = 0; i < 20; i++) kept.push(await tokens.resolve(token))
  const after = heap()
  console.log(`retained heap per resolved principal: ${((after - before) / kept.length / 1024 / 1024).toFixed(2)} MiB${gc ? '' : ' (run with --expose-gc for a stable figure)'}`)
  const beforeVerify = heap()
  const verified: unknown[] = []
  for (let i = 0; i < 20; i++) verified.push(await tokens.verify(token))
  console.log(`retained heap per verified token (payload + info): ${((heap() - beforeVerify) / verified.length / 1024 / 1024).toFixed(2)} MiB`)
  t = process.hrtime.bigint()
  void t
}

await main()
