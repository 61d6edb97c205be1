// A Pothos plugin for objects the database built whole (server/runs/run-page-sql.ts): the drizzle
// plugin wraps every field that selects columns or relations, to check the row came from its plan
// and to load what is missing. An object marked PREBUILT holds what its selection asked for under
// each field's name, so those fields read it straight off the object and skip that bookkeeping.
// builder.ts lists the plugin before the drizzle plugin, so scope checks and errors still wrap it.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';

/** The property that marks a prebuilt object; no table has a column of this name. */
export const PREBUILT = '$sql';

const pluginName = 'prebuiltRows';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      prebuiltRows: PrebuiltRowsPlugin<Types>;
    }
  }
}

export class PrebuiltRowsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (!fieldConfig.extensions?.pothosDrizzleSelect) return resolver;
    const name = fieldConfig.name;
    return (parent, args, context, info) => {
      const row = parent as Record<string, unknown>;
      return row[PREBUILT] === true ? row[name] : resolver(parent, args, context, info);
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, PrebuiltRowsPlugin);
export default pluginName;
