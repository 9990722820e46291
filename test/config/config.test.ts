import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import * as formats from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import { CONFIG_FILE_NAME, ConfigInvalidError, configJsonSchema, configSchema, layerConfig, liveSourceOptionsOf, loadConfig, parseConfig, registrySettingsOf } from '../../src/config/index.js'
import { createRegistry } from '../../src/components/index.js'

const dir = () => mkdtempSync(join(tmpdir(), 'kp-config-'))

describe('loadConfig', () => {
  it('finds keycloak-permissions.config.json in the working directory, and is empty without one', async () => {
    const cwd = dir()
    expect(await loadConfig({ cwd })).toEqual({ config: {}, file: undefined })
    writeFileSync(join(cwd, CONFIG_FILE_NAME), JSON.stringify({ components: { preset: 'jupyterhub' } }))
    expect(await loadConfig({ cwd })).toEqual({ config: { components: { preset: 'jupyterhub' } }, file: join(cwd, CONFIG_FILE_NAME) })
  })

  it('refuses a missing explicit file, non-JSON, unknown keys and wrong values with the path', async () => {
    const cwd = dir()
    const missing = await loadConfig({ cwd, file: 'nope.json' }).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(ConfigInvalidError)
    expect(missing).toMatchObject({ code: 'CONFIG_INVALID', file: join(cwd, 'nope.json'), path: '' })
    writeFileSync(join(cwd, 'bad.json'), '{ "components": ')
    expect(await loadConfig({ cwd, file: 'bad.json' }).catch((e: unknown) => e)).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/not JSON/) })
    const typo = () => parseConfig({ components: { jupyterhub: { vesion: 6 } } }, 'c.json')
    expect(typo).toThrow(ConfigInvalidError)
    expect(typo).toThrow(/components\.jupyterhub.*vesion/)
    expect(() => parseConfig({ components: { jupyterhub: { version: 7 } } }, 'c.json')).toThrow(/at components\.jupyterhub\.version/)
    expect(() => parseConfig({ components: { preset: 'nebri' } }, 'c.json')).toThrow(/at components\.preset/)
    expect(() => parseConfig([], 'c.json')).toThrow(ConfigInvalidError)
  })

  it('never takes the client secret from the file', () => {
    const withSecret = { source: { keycloak: { url: 'http://127.0.0.1:8180', realm: 'r', clientId: 'c', clientSecret: 's' } } }
    expect(() => parseConfig(withSecret, 'c.json')).toThrow(/KEYCLOAK_CLIENT_SECRET/)
  })

  it('reads a realm file relative to the configuration file', () => {
    expect(parseConfig({ source: { realmFile: 'realm.json' } }, '/etc/kp/config.json')).toEqual({ source: { realmFile: resolve('/etc/kp/realm.json') } })
    expect(parseConfig({ source: { realmFile: '/abs/realm.json' } }, '/etc/kp/config.json')).toEqual({ source: { realmFile: '/abs/realm.json' } })
  })
})

describe('layerConfig', () => {
  const defaults = { config: { serve: { host: '127.0.0.1', port: 8080 }, components: { jupyterhub: { version: 5 as const } } }, origin: { kind: 'default' as const } }

  it('later layers win per leaf, and each leaf names its origin', () => {
    const file = { config: { serve: { port: 9000 }, components: { preset: 'nebari' as const, workspaces: { clients: ['ws-*', 'team-*'] } } }, origin: { kind: 'file' as const, file: '/c.json' } }
    const flags = { config: { components: { jupyterhub: { version: 6 as const }, workspaces: { clients: ['ws-*'] } } }, origin: (p: string) => ({ kind: 'flag' as const, flag: `--${p}` }) }
    const { config, origins } = layerConfig([defaults, file, flags])
    expect(config).toEqual({
      serve: { host: '127.0.0.1', port: 9000 },
      components: { preset: 'nebari', jupyterhub: { version: 6 }, workspaces: { clients: ['ws-*'] } },
    })
    expect(origins).toEqual({
      'serve.host': { kind: 'default' },
      'serve.port': { kind: 'file', file: '/c.json' },
      'components.jupyterhub.version': { kind: 'flag', flag: '--components.jupyterhub.version' },
      'components.preset': { kind: 'file', file: '/c.json' },
      'components.workspaces.clients': { kind: 'flag', flag: '--components.workspaces.clients' },
    })
  })

  it('replaces the source as a whole (a flag for a realm file drops the file\'s Keycloak settings)', () => {
    const file = { config: { source: { keycloak: { url: 'http://127.0.0.1:8180', realm: 'r', clientId: 'c' } } }, origin: { kind: 'file' as const, file: '/c.json' } }
    const flag = { config: { source: { realmFile: '/r.json' } }, origin: { kind: 'flag' as const, flag: '--realm' } }
    const { config, origins } = layerConfig([file, flag])
    expect(config.source).toEqual({ realmFile: '/r.json' })
    expect(Object.keys(origins)).toEqual(['source.realmFile'])
  })

  it('layers a source of the same kind per setting (--realm-name over the file\'s Keycloak)', () => {
    const file = { config: { source: { keycloak: { url: 'http://127.0.0.1:8180', realm: 'r', clientId: 'c' } } }, origin: { kind: 'file' as const, file: '/c.json' } }
    const flag = { config: { source: { keycloak: { realm: 'other' } } } as never, origin: { kind: 'flag' as const, flag: '--realm-name' } }
    const { config, origins } = layerConfig([file, flag])
    expect(config.source).toEqual({ keycloak: { url: 'http://127.0.0.1:8180', realm: 'other', clientId: 'c' } })
    expect(origins).toEqual({
      'source.keycloak.url': { kind: 'file', file: '/c.json' },
      'source.keycloak.realm': { kind: 'flag', flag: '--realm-name' },
      'source.keycloak.clientId': { kind: 'file', file: '/c.json' },
    })
  })
})

describe('registrySettingsOf and liveSourceOptionsOf', () => {
  it('maps presets, groups, scopes, workspace clients, the STAC prefix and custom components onto the registry', () => {
    expect(registrySettingsOf({})).toEqual({})
    expect(registrySettingsOf({ components: { preset: 'nebari' } })).toEqual({})
    expect(registrySettingsOf({ components: { preset: 'jupyterhub' } })).toEqual({ jupyterhub: { allowedGroups: null, adminGroups: [] } })
    expect(registrySettingsOf({ components: { preset: 'jupyterhub', jupyterhub: { adminGroups: ['/ops'], version: 6 } } })).toEqual({
      jupyterhub: { allowedGroups: null, adminGroups: ['/ops'], version: 6 },
    })
    expect(registrySettingsOf({ components: { preset: 'nebari', jupyterhub: { allowedGroups: ['/staff'] } } })).toEqual({ jupyterhub: { allowedGroups: ['/staff'] } })
    const custom = [{ name: 'binderhub', actions: ['build'], resourceKind: 'repo' }]
    const scopes = { 'custom:rtc:write': { description: 'edit documents' } }
    expect(
      registrySettingsOf({ components: { jupyterhub: { customScopes: scopes }, workspaces: { clients: ['ws-*'], stacPrefix: '/catalogue' }, custom } }),
    ).toEqual({ jupyterhub: { customScopes: scopes }, workspaces: { clients: ['ws-*'] }, stac: { prefix: '/catalogue' }, components: custom })
    // Whatever the file says is a valid registry: the two schemas agree.
    expect(() => createRegistry(registrySettingsOf({ components: { preset: 'jupyterhub', workspaces: { clients: ['ws-*'], stacPrefix: '/catalogue' }, custom } }))).not.toThrow()
  })

  it('turns cache seconds into the source\'s milliseconds, with the defaults', () => {
    expect(liveSourceOptionsOf({})).toEqual({ cache: { ttlMs: 60_000, max: 10_000, staleMs: 0 }, watchAdminEvents: false, liveRoles: false })
    expect(liveSourceOptionsOf({ cache: { ttlSeconds: 5, staleSeconds: 30 }, freshness: { redis: 'redis://127.0.0.1:6390', liveRoles: true } })).toEqual({
      cache: { ttlMs: 5_000, max: 10_000, staleMs: 30_000 },
      watchAdminEvents: false,
      liveRoles: true,
      redis: 'redis://127.0.0.1:6390',
    })
  })
})

describe('JSON Schema', () => {
  const published = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../config.schema.json'), 'utf8'))

  it('the published config.schema.json is the one derived from the zod schema (regenerate: npm run schemas)', () => {
    expect(published).toEqual(configJsonSchema())
  })

  // One answer: an editor (JSON Schema) and the CLI (zod) accept and refuse the same files.
  const samples: unknown[] = [
    {},
    { $schema: './config.schema.json', source: { realmFile: 'realm.json' } },
    { source: { keycloak: { url: 'http://127.0.0.1:8180', realm: 'example', clientId: 'permission-resolver', clients: ['conda_store'] } } },
    { components: { preset: 'jupyterhub', jupyterhub: { version: 6, allowedGroups: ['/analyst'], adminGroups: [] } } },
    { components: { jupyterhub: { customScopes: { 'custom:read:x': { description: 'x', subscopes: ['custom:read:y'], extra: 1 } } } } },
    { components: { workspaces: { clients: ['ws-*'], stacPrefix: '/api/stac' }, custom: [{ name: 'binderhub', actions: ['build'], resourceKind: 'repo' }] } },
    { cache: { ttlSeconds: 60, maxUsers: 1000, staleSeconds: 0 }, freshness: { watchAdminEvents: true, redis: 'redis://127.0.0.1:6379' }, serve: { port: 8080 } },
    { source: { realmFile: '' } },
    { source: { realmFile: 'a', keycloak: {} } },
    { source: { keycloak: { url: 'not a url', realm: 'r', clientId: 'c' } } },
    { components: { preset: 'other' } },
    { components: { jupyterhub: { version: 4 } } },
    { components: { jupyterhub: { customScopes: { 'read:x': { description: 'x' } } } } },
    { components: { custom: [{ name: 'x', actions: [], resourceKind: 'repo' }] } },
    { cache: { ttlSeconds: -1 } },
    { cache: { ttlSeconds: 1.5 } },
    { freshness: { redis: 'http://x' } },
    { serve: { port: 70000 } },
    { unknown: true },
    { components: { workspace: {} } },
  ]

  it('accepts and refuses the same files as the zod schema', () => {
    const ajv = new Ajv2020({ strict: false })
    // ajv-formats is CommonJS: its plugin is the module's default export.
    const addFormats = formats.default as unknown as (ajv: Ajv2020) => Ajv2020
    addFormats(ajv)
    const validate = ajv.compile(published)
    const verdicts = samples.map((s) => [configSchema.safeParse(s).success, validate(s)])
    for (const [i, [zod, json]] of verdicts.entries()) expect({ i, zod }).toEqual({ i, zod: json })
    expect(verdicts.filter(([zod]) => zod).length).toBe(7)
  })
})
