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
    DateTime: { Input: Date; Output: Date };
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
      name: ({ fieldName }) => `${capitalize(fieldName)}Result`,
    },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);

builder.queryType({});
builder.mutationType({});
