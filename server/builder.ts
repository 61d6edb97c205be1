// The one Pothos schema builder: plugins, context and scalars. Domain modules add their types to it.
import SchemaBuilder from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin, { decodeGlobalID, resolveNodes } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { DateTimeResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import { createGraphQLError } from 'graphql-yoga';
import type { RequestContext } from './context';
import { relations } from './db/schema';
import NameArgumentsPlugin from './name-arguments';
import DeletedRowsPlugin from './deleted-rows-plugin';
import PrebuiltRowsPlugin from './prebuilt-rows-plugin';
import RetriedMutationsPlugin from './retried-mutations-plugin';

const capitalize = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The drizzle plugin throws "Model x(id) not found" for a missing row; the Node fields answer null. */
async function nodeOrNull(id: { typename: string; id: string }, load: (id: { typename: string; id: string }) => unknown): Promise<unknown> {
  if (!UUID.test(id.id)) return null;
  try {
    return await load(id);
  } catch (error) {
    // Not found, or the id names a type that is not a Node ("X has not been implemented").
    if (error instanceof Error && /^Model \w+\(.*\) not found$|has not been implemented$/.test(error.message)) return null;
    throw error;
  }
}

/**
 * What a caller may do, by role. Every Query and Mutation field names the scope it needs;
 * test/auth.test.ts checks that none is left open.
 */
export interface AuthScopes {
  /** Read the registry and run history: every role. */
  reader: boolean;
  /** Register and change stacks and components: editors and admins. */
  editor: boolean;
  /** Report runs, steps and outputs: editors, admins and service accounts. */
  reporter: boolean;
  /** Manage their own tokens: every role but service accounts. */
  member: boolean;
  /** Users, everyone's tokens, everything: admins. */
  admin: boolean;
}

export const builder = new SchemaBuilder<{
  Context: RequestContext;
  AuthScopes: AuthScopes;
  DrizzleRelations: typeof relations;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: string; Output: Date | string };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  // Scope checks run first, so no other plugin's resolver wrapping runs for a refused caller.
  // Name arguments are normalised before any resolver sees them (server/name-arguments.ts).
  // jsonDepth (server/json-depth-plugin.ts) runs inside the errors plugin, so its ValidationError is a typed result.
  // Objects the database built whole skip the drizzle plugin's per-field checks (server/prebuilt-rows-plugin.ts).
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RetriedMutationsPlugin, 'jsonDepth', RelayPlugin, DeletedRowsPlugin, PrebuiltRowsPlugin, DrizzlePlugin, NameArgumentsPlugin],
  scopeAuth: {
    authScopes: ({ user }) => {
      const role = user?.role;
      return {
        reader: role !== undefined,
        editor: role === 'editor' || role === 'admin',
        reporter: role === 'editor' || role === 'admin' || role === 'service_account',
        member: role !== undefined && role !== 'service_account',
        admin: role === 'admin',
      };
    },
    // A refusal is a GraphQL error with a code, not a masked internal error.
    unauthorizedError: (_parent, context) =>
      context.user
        ? createGraphQLError(`Your role (${context.user.role}) does not allow this`, { extensions: { code: 'FORBIDDEN' } })
        : createGraphQLError('Sign in: send an API token as "Authorization: Bearer <token>"', { extensions: { code: 'UNAUTHENTICATED' } }),
  },
  defaultFieldNullability: false,
  relay: {
    // A malformed id (not base64 of type:id) decodes to one of nothing, so node(id) answers null.
    decodeGlobalID: (globalID) => {
      try {
        return decodeGlobalID(globalID);
      } catch {
        return { typename: '', id: '' };
      }
    },
    // An id of nothing (deleted, made up, not a uuid) answers null, as the Node spec says.
    nodeQueryOptions: { authScopes: { reader: true }, resolve: (_root, args, _context, _info, resolveNode) => nodeOrNull(args.id, resolveNode) },
    nodesQueryOptions: {
      authScopes: { reader: true },
      // Pothos' own resolveNodes callback loads all of args.ids whatever it is given; this loads one.
      resolve: (_root, args, context, info): Promise<unknown>[] =>
        args.ids.map((id) => nodeOrNull(id, async (one): Promise<unknown> => (await resolveNodes(builder as never, context, info, [one]))[0])),
    },
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
  },
  drizzle: {
    client: (context) => context.db,
    getTableConfig,
    relations,
    maxConnectionSize: 100,
  },
  errors: {
    // A mutation answers with its object or one of its typed errors, so a client switches on
    // __typename; the success payload is the domain object itself, not a wrapper.
    directResult: true,
    defaultUnionOptions: {
      name: ({ parentTypeName, fieldName }) =>
        ['Query', 'Mutation'].includes(parentTypeName)
          ? `${capitalize(fieldName)}Result`
          : `${parentTypeName}${capitalize(fieldName)}Result`,
    },
  },
});

// Run times keep Postgres' microseconds end to end: a filter bound taken from a run's own
// timestamp must match that run, which a millisecond Date would not.
builder.scalarType('DateTime', {
  description: 'An RFC 3339 date-time, such as 2026-11-26T10:15:30.123456Z (up to microseconds).',
  serialize: (value) => (value instanceof Date ? value.toISOString() : isoTimestamp(String(value))),
  parseValue: (value) => {
    DateTimeResolver.parseValue(value); // throws on anything that is not RFC 3339
    return String(value);
  },
  parseLiteral: (ast) => {
    DateTimeResolver.parseLiteral(ast, {});
    return (ast as { value: string }).value;
  },
});

/** Postgres' timestamptz text (`2026-11-26 10:15:30.123456+00`) as RFC 3339, digits intact. */
export function isoTimestamp(text: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text);
  if (!match) return new Date(text).toISOString();
  const [, date, time, offset = 'Z'] = match;
  const zone = offset === 'Z' || /^[+-]00(:?00)?$/.test(offset) ? 'Z' : offset.length === 3 ? `${offset}:00` : offset.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  return `${date}T${time}${zone}`;
}
builder.addScalarType('JSONObject', JSONObjectResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({});
builder.mutationType({});
