// A Pothos plugin that normalises every name a caller sends (trim, then Unicode NFC) before any
// resolver, rule or lookup sees it, so " default " or a decomposed "café" cannot slip past a
// guard that compares names while a lookup finds the row.
import SchemaBuilder, {
  BasePlugin,
  createInputValueMapper,
  mapInputFields,
  type PothosInputFieldConfig,
  type PothosOutputFieldConfig,
  type SchemaTypes,
} from '@pothos/core';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      nameArguments: NameArgumentsPlugin<Types>;
    }
  }
}

/**
 * The one form of a name that rules and lookups see: trimmed, then Unicode NFC, so names that
 * differ only by surrounding whitespace or by how an accent is encoded are the same name.
 */
export function normalizeName(value: string): string {
  return value.trim().normalize('NFC');
}

/**
 * String arguments and input fields (or lists of them) with these names hold names: of a stack,
 * component, pipeline, run, step, output, artifact, user, token, tag, or a filter on one.
 */
const NAME_FIELDS = /^(name|nameContains|pipeline|stack|parents|tags)$|Name$/;

/**
 * Marks another String argument or input field as a name; `{ extensions: { name: false } }`
 * opts one of NAME_FIELDS out.
 */
export const NAME = { extensions: { name: true } } as const;

export class NameArgumentsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  private readonly mappingCache = new Map();

  /** Records the decision in the field's extensions, where test/names.test.ts reads it. */
  override onInputFieldConfig(fieldConfig: PothosInputFieldConfig<Types>): PothosInputFieldConfig<Types> {
    return this.isName(fieldConfig) ? { ...fieldConfig, extensions: { ...fieldConfig.extensions, name: true } } : fieldConfig;
  }

  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const mappings = mapInputFields(
      fieldConfig.args,
      this.buildCache,
      (field) => (this.isName(field) ? true : null),
      this.mappingCache,
    );
    if (!mappings) return fieldConfig;
    const normalize = createInputValueMapper(mappings, (value) => (typeof value === 'string' ? normalizeName(value) : value));
    return {
      ...fieldConfig,
      argMappers: [...(fieldConfig.argMappers ?? []), (args) => normalize(args)],
    };
  }

  private isName(field: PothosInputFieldConfig<Types>): boolean {
    const marked = field.extensions?.name;
    if (typeof marked === 'boolean') return marked;
    let type = field.type;
    while (type.kind === 'List') type = type.type;
    return type.kind === 'Scalar' && this.buildCache.getTypeConfig(type.ref).name === 'String' && NAME_FIELDS.test(field.name);
  }
}

const pluginName = 'nameArguments';
export default pluginName;

SchemaBuilder.registerPlugin(pluginName, NameArgumentsPlugin);
