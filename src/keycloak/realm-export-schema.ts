/**
 * zod schemas for the parts of a Keycloak `RealmRepresentation` (realm export JSON) that role
 * resolution reads. Unknown keys are kept (exports carry far more than we need).
 *
 * @module
 */
import * as z from 'zod'
import { RealmExportInvalidError } from '../core/errors.js'

const stringList = z.array(z.string())
const attributes = z.record(z.string(), stringList)

const roleSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  composite: z.boolean().optional(),
  composites: z
    .looseObject({
      realm: stringList.optional(),
      client: z.record(z.string(), stringList).optional(),
    })
    .optional(),
  attributes: attributes.optional(),
})

interface GroupInput {
  name: string
  path?: string | undefined
  realmRoles?: string[] | undefined
  clientRoles?: Record<string, string[]> | undefined
  subGroups?: GroupInput[] | undefined
}

const groupSchema: z.ZodType<GroupInput> = z.lazy(() =>
  z.looseObject({
    name: z.string().min(1),
    path: z.string().optional(),
    realmRoles: stringList.optional(),
    clientRoles: z.record(z.string(), stringList).optional(),
    subGroups: z.array(groupSchema).optional(),
  }),
)

const userSchema = z.looseObject({
  id: z.string().optional(),
  username: z.string().min(1),
  enabled: z.boolean().optional(),
  realmRoles: stringList.optional(),
  clientRoles: z.record(z.string(), stringList).optional(),
  groups: stringList.optional(),
  serviceAccountClientId: z.string().optional(),
})

const clientSchema = z.looseObject({
  clientId: z.string().min(1),
  id: z.string().optional(),
})

/** The realm export fields we read; everything else passes through untouched. */
export const realmExportSchema = z.looseObject({
  realm: z.string().min(1),
  id: z.string().optional(),
  roles: z
    .looseObject({
      realm: z.array(roleSchema).optional(),
      client: z.record(z.string(), z.array(roleSchema)).optional(),
    })
    .optional(),
  defaultRole: z.looseObject({ name: z.string().min(1) }).optional(),
  clients: z.array(clientSchema).optional(),
  groups: z.array(groupSchema).optional(),
  users: z.array(userSchema).optional(),
})

export type RealmExport = z.infer<typeof realmExportSchema>
export type RealmExportRole = z.infer<typeof roleSchema>
export type RealmExportGroup = GroupInput
export type RealmExportUser = z.infer<typeof userSchema>

/** Parses a realm export, throwing {@link RealmExportInvalidError} naming the first bad path. */
export function parseRealmExport(value: unknown): RealmExport {
  const hostile = findProtoKey(value, [])
  if (hostile !== undefined) {
    throw new RealmExportInvalidError(hostile, 'a key named "__proto__" is not supported (it cannot be represented safely)')
  }
  const result = realmExportSchema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  throw new RealmExportInvalidError(issue.path.map(String).join('.'), issue.message, { cause: result.error })
}

// Object-building parsers (zod included) assign keys, and assigning "__proto__" replaces the prototype
// instead of adding an entry, which would silently drop that client's roles: refuse such files.
function findProtoKey(value: unknown, path: string[]): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findProtoKey(value[i], [...path, String(i)])
      if (found !== undefined) return found
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (key === '__proto__') return [...path, key].join('.')
      const found = findProtoKey((value as Record<string, unknown>)[key], [...path, key])
      if (found !== undefined) return found
    }
  }
  return undefined
}
