// Users, roles and API tokens in GraphQL, and who created each stack, component and run.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder';
import { callerId } from '../context';
import { REGISTRY_ERRORS } from '../errors';
import { databaseId } from '../ids';
import { createApiToken, createUser, deleteUser, listApiTokens, listUsers, MAX_TOKEN_DAYS, requireUser, revokeApiToken, type ApiTokenRow } from './user-service';
import { USER_ROLES, type UserRole } from './user-tables';

export const UserRoleEnum = builder.enumType('UserRole', {
  description: 'ADMIN: everything. EDITOR: stacks, components and runs. VIEWER: read. SERVICE_ACCOUNT: report runs.',
  values: Object.fromEntries(USER_ROLES.map((role) => [role.toUpperCase(), { value: role }])) as Record<Uppercase<UserRole>, { value: UserRole }>,
});

export const UserType = builder.drizzleNode('users', {
  name: 'User',
  id: { column: (user) => user.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.field({ type: UserRoleEnum, select: { columns: { role: true } }, resolve: (user) => user.role }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ApiTokenType = builder.drizzleNode('apiTokens', {
  name: 'ApiToken',
  description: 'An API token. The token itself is shown once, when it is created; the server keeps only its hash.',
  id: { column: (token) => token.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the token, to tell tokens apart.' }),
    user: t.relation('user'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    isActive: t.boolean({
      description: 'Neither revoked nor expired.',
      select: { columns: { revokedAt: true, expiresAt: true } },
      resolve: (token) => token.revokedAt === null && (token.expiresAt === null || token.expiresAt > new Date()),
    }),
  }),
});

const CreatedApiTokenType = builder.objectRef<{ token: string; row: ApiTokenRow }>('CreatedApiToken').implement({
  fields: (t) => ({
    token: t.string({ description: 'The token. It is not stored and cannot be shown again.', resolve: (created) => created.token }),
    apiToken: t.field({ type: ApiTokenType, resolve: (created) => created.row }),
  }),
});

const DeleteUserPayloadType = builder.objectRef<{ id: string }>('DeleteUserPayload').implement({
  fields: (t) => ({ deletedId: t.id({ resolve: (user) => encodeGlobalID('User', user.id) }) }),
});

for (const [table, name] of [
  ['stacks', 'Stack'],
  ['stackComponents', 'StackComponent'],
  ['pipelineRuns', 'PipelineRun'],
] as const) {
  builder.drizzleObjectField(table, 'createdBy', (t) =>
    t.relation('creator', { type: UserType, nullable: true, description: `The user who created the ${name}; null once that user is deleted.` }),
  );
}

builder.queryFields((t) => ({
  me: t.drizzleField({
    authScopes: { reader: true },
    type: 'users',
    description: 'The caller: the user its token belongs to.',
    resolve: async (query, _root, _args, context) => (await context.db.query.users.findFirst(query({ where: { id: callerId(context) } })))!,
  }),
  users: t.drizzleField({
    authScopes: { admin: true },
    type: ['users'],
    resolve: (query, _root, _args, context) => context.db.query.users.findMany(query({ orderBy: { name: 'asc' } })),
  }),
  apiTokens: t.field({
    // Anyone may list their own tokens; only an admin those of another user.
    authScopes: (_root, args) => (args.userName ? { admin: true } : { member: true }),
    type: [ApiTokenType],
    description: "The caller's tokens, or with userName (admins only) another user's.",
    args: { userName: t.arg.string() },
    resolve: async (_root, args, context) =>
      listApiTokens(context.db, args.userName ? (await requireUser(context.db, args.userName, 'userName')).id : callerId(context)),
  }),
}));

builder.mutationFields((t) => ({
  createUser: t.field({
    authScopes: { admin: true },
    type: UserType,
    errors: { types: REGISTRY_ERRORS },
    description: 'Creates a user; give it a token with createApiToken(userName:).',
    args: { name: t.arg.string({ required: true }), role: t.arg({ type: UserRoleEnum, required: true }) },
    resolve: (_root, args, context) => createUser(context.db, args),
  }),
  deleteUser: t.field({
    authScopes: { admin: true },
    type: DeleteUserPayloadType,
    errors: { types: REGISTRY_ERRORS },
    description: 'Deletes a user and its tokens. What it created stays, with createdBy null.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => deleteUser(context.db, callerId(context), args.name),
  }),
  createApiToken: t.field({
    authScopes: (_root, args) => (args.userName ? { admin: true } : { member: true }),
    type: CreatedApiTokenType,
    errors: { types: REGISTRY_ERRORS },
    description: `Creates a token for the caller, or with userName (admins only) for another user, such as a service account. Expiry: at most ${MAX_TOKEN_DAYS} days.`,
    args: {
      name: t.arg.string({ required: true }),
      expiresInDays: t.arg.float(),
      userName: t.arg.string(),
    },
    resolve: async (_root, args, context) =>
      createApiToken(context.db, {
        userId: args.userName ? (await requireUser(context.db, args.userName, 'userName')).id : callerId(context),
        userName: args.userName,
        name: args.name,
        expiresInDays: args.expiresInDays,
      }),
  }),
  revokeApiToken: t.field({
    authScopes: { member: true },
    type: ApiTokenType,
    errors: { types: REGISTRY_ERRORS },
    description: "Revokes one of the caller's tokens; admins may revoke anyone's.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) =>
      revokeApiToken(context.db, databaseId(args.id, 'ApiToken', 'id'), context.user?.role === 'admin' ? null : callerId(context)),
  }),
}));
