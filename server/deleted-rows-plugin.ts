// A Pothos plugin for objects deleted while their answer was read. The drizzle plugin loads what
// a selection asks of an object (a finished step's outputs, a run's stack) in a statement after
// the one that wrote or listed it. When another request deleted the object in between (its run,
// say), the drizzle plugin fails with `Model stepRuns(<id>) not found`. That is no internal
// fault, and no reason to mask it and log an error: the field answers a GraphQL error that names
// what was deleted, with the NOT_FOUND code the client turns into a NotFoundError.
// builder.ts lists the plugin before the drizzle plugin, so it wraps the drizzle plugin's resolvers.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { GraphQLError, type GraphQLFieldResolver } from 'graphql';

const pluginName = 'deletedRows';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      deletedRows: DeletedRowsPlugin<Types>;
    }
  }
}

/** The drizzle plugin's error for a row its model loader no longer finds; its model's name in words. */
function deletedModel(error: unknown): string | null {
  const match = error instanceof Error ? /^Model (\w+)\(.*\) not found$/s.exec(error.message) : null;
  if (!match) return null;
  const words = match[1].replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase().replace(/s$/, '');
  return words === 'pipeline run' ? 'run' : words;
}

export class DeletedRowsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.kind !== 'DrizzleObject' || !fieldConfig.extensions?.pothosDrizzleSelect) return resolver;
    return (parent, args, context, info) => {
      const result = resolver(parent, args, context, info) as unknown;
      if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') return result;
      return Promise.resolve(result).catch((error: unknown) => {
        const model = deletedModel(error);
        if (!model) throw error;
        throw new GraphQLError(`The ${model} was deleted while the answer was being read`, { extensions: { code: 'NOT_FOUND' } });
      });
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, DeletedRowsPlugin);
export default pluginName;
