// A Pothos plugin that refuses JSON arguments nested deeper than MAX_JSON_DEPTH with a
// ValidationError naming the argument, for every field at once: labels, configuration, run
// config, parameters, metadata and any JSON added later. A resolver never sees such a value, so
// nothing that recurses over it (JSON.stringify, jsonb) has to survive it. builder.ts lists the
// plugin by name; schema.ts imports this file, which registers it, before building the schema.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type PothosInputFieldType, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { validateJsonDepth } from './validation';

const pluginName = 'jsonDepth';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      jsonDepth: PothosJsonDepthPlugin<Types>;
    }
  }
}

export class PothosJsonDepthPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    const checked = Object.entries(fieldConfig.args ?? {})
      .filter(([, arg]) => this.canHoldJson(arg.type))
      .map(([name]) => name);
    if (checked.length === 0) return resolver;
    return (parent, args, context, info) => {
      for (const name of checked) validateJsonDepth((args as Record<string, unknown>)[name], name);
      return resolver(parent, args, context, info);
    };
  }

  /** JSON scalars, and input objects and lists, which may hold one; other scalars and enums cannot nest. */
  private canHoldJson(type: PothosInputFieldType<Types>): boolean {
    if (type.kind === 'List' || type.kind === 'InputObject') return true;
    return type.kind === 'Scalar' && this.buildCache.getTypeConfig(type.ref).name === 'JSONObject';
  }
}

SchemaBuilder.registerPlugin(pluginName, PothosJsonDepthPlugin);
