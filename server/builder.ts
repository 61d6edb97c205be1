// The one Pothos schema builder: plugins, context and scalars. Domain modules add their types to it.
import SchemaBuilder from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { DateTimeResolver, JSONObjectResolver } from 'graphql-scalars';
import type { RequestContext } from './context';
import { relations } from './db/schema';

const capitalize = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

export const builder = new SchemaBuilder<{
  Context: RequestContext;
  DrizzleRelations: typeof relations;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: string; Output: Date | string };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
}>({
  plugins: [ErrorsPlugin, RelayPlugin, DrizzlePlugin],
  defaultFieldNullability: false,
  relay: {
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

builder.queryType({});
builder.mutationType({});
