// A Pothos plugin that runs a mutation again when Postgres aborted it to break a deadlock or a
// serialization conflict. Postgres asks applications to retry such transactions: they failed for
// what ran beside them, not for what they asked, and were rolled back whole. Every mutation's
// writes are one transaction or one statement, and the reports a retry could repeat are
// idempotent (their clients retry them too), so running the resolver again is safe. Writers take
// rows in one order (run, step, what names the step) to keep this rare; this is the backstop.
// builder.ts lists the plugin after the errors plugin: a typed error a retry ends with is still
// answered as its member, and the scope check runs once.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { DEADLOCK_DETECTED, SERIALIZATION_FAILURE, postgresErrorCode } from './db/database';

const pluginName = 'retriedMutations';

/** Runs of a mutation at most, the first included. */
export const MUTATION_ATTEMPTS = 3;

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      retriedMutations: RetriedMutationsPlugin<Types>;
    }
  }
}

const abortedForConflict = (error: unknown) => {
  const code = postgresErrorCode(error);
  return code === DEADLOCK_DETECTED || code === SERIALIZATION_FAILURE;
};

export class RetriedMutationsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.parentType !== 'Mutation') return resolver;
    return async (parent, args, context, info) => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await resolver(parent, args, context, info);
        } catch (error) {
          if (attempt >= MUTATION_ATTEMPTS || !abortedForConflict(error)) throw error;
          // The transactions that met here would meet again if all came back at once.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * attempt));
        }
      }
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, RetriedMutationsPlugin);
export default pluginName;
