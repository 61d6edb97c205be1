// GraphQL for stack components and flavors: types, queries and mutations.
import { actor } from '../context';
import { and, eq, ilike, sql, type SQL } from 'drizzle-orm';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder';
import { REGISTRY_ERRORS } from '../errors';
import { checkedOrder, PAGE_ERRORS } from '../page-cursors';
import { escapeLike } from '../validation';
import { stackComponents } from './component-tables';
import { COMPONENT_TYPES, type ComponentType } from './component-types';
import {
  deleteComponent,
  registerComponent,
  renameComponent,
  updateComponent,
} from './component-service';
import { listFlavors, requireFlavor, secretFields, type Flavor } from './flavors';
import { databaseId } from '../ids';
import { decryptSecrets } from './secret-encryption';

export const ComponentTypeEnum = builder.enumType('ComponentType', {
  description: 'What a stack component does in a stack.',
  values: Object.fromEntries(COMPONENT_TYPES.map((type) => [type.toUpperCase(), { value: type }])) as Record<
    Uppercase<ComponentType>,
    { value: ComponentType }
  >,
});

export const FlavorType = builder.objectRef<Flavor>('Flavor').implement({
  description: 'An implementation of a component type, with the JSON Schema of its configuration.',
  fields: (t) => ({
    type: t.field({ type: ComponentTypeEnum, resolve: (flavor) => flavor.type }),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    configSchema: t.field({
      type: 'JSONObject',
      description:
        'JSON Schema of the configuration. Settings with `writeOnly: true` are secrets; a URL setting with `writeOnlyPart: "password"` keeps its password secret and is shown with the password as ****.',
      resolve: (flavor) => flavor.configSchema as unknown as Record<string, unknown>,
    }),
    secretFields: t.stringList({ resolve: (flavor) => secretFields(flavor) }),
    runsLocally: t.boolean({
      description: 'Whether the Stackyard SDK runs pipelines with it; other flavors are used by code that runs elsewhere.',
      resolve: (flavor) => flavor.local,
    }),
  }),
});

export const StackComponentType = builder.drizzleNode('stackComponents', {
  name: 'StackComponent',
  // The listed columns always, read straight off the row (see PipelineRun); others when asked for.
  select: { columns: { id: true, type: true, name: true, flavor: true } },
  description: 'One piece of infrastructure a stack can use: an orchestrator, an artifact store, ...',
  id: { column: (component) => component.id },
  fields: (t) => ({
    type: t.field({ type: ComponentTypeEnum, resolve: (component) => component.type }),
    name: t.string({ resolve: (component) => component.name }),
    flavorName: t.string({ resolve: (component) => component.flavor }),
    flavor: t.field({
      type: FlavorType,
      resolve: (component) => requireFlavor(component.type, component.flavor),
    }),
    configuration: t.field({
      type: 'JSONObject',
      description: 'The settings, without secrets: those are write-only.',
      select: { columns: { configuration: true } },
      resolve: (component) => component.configuration,
    }),
    secretsSet: t.stringList({
      description: 'Names of the secret settings that hold a value. Their values are never returned.',
      select: { extras: { secretKeys: (table) => sql<string[]>`array(select jsonb_object_keys(${table.secrets}))` } },
      resolve: (component) => [...component.secretKeys].sort(),
    }),
    labels: t.field({
      type: 'JSONObject',
      select: { columns: { labels: true } },
      resolve: (component) => component.labels,
    }),
    isDefault: t.exposeBoolean('isDefault', {
      description: 'The default orchestrator and artifact store cannot be changed or deleted.',
    }),
    stacks: t.relation('stacks', { query: { orderBy: { name: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const DeleteComponentPayload = builder.objectRef<{ id: string }>('DeleteComponentPayload').implement({
  fields: (t) => ({
    deletedId: t.id({ resolve: (component) => encodeGlobalID('StackComponent', component.id) }),
  }),
});

interface ComponentFilter {
  type?: ComponentType | null;
  flavor?: string | null;
  nameContains?: string | null;
}

/** One filter for both the page and its count, so they can never disagree. */
function componentFilter(table: typeof stackComponents, filter: ComponentFilter): SQL | undefined {
  return and(
    filter.type ? eq(table.type, filter.type) : undefined,
    filter.flavor ? eq(table.flavor, filter.flavor) : undefined,
    filter.nameContains ? ilike(table.name, `%${escapeLike(filter.nameContains)}%`) : undefined,
  );
}

builder.queryFields((t) => ({
  flavors: t.field({
    authScopes: { reader: true },
    type: [FlavorType],
    args: { type: t.arg({ type: ComponentTypeEnum }) },
    resolve: (_root, args) => listFlavors(args.type),
  }),
  components: t.drizzleConnection({
    authScopes: { reader: true },
    type: 'stackComponents',
    errors: PAGE_ERRORS,
    description: 'Stack components, by type and then name.',
    args: {
      type: t.arg({ type: ComponentTypeEnum }),
      flavor: t.arg.string(),
      nameContains: t.arg.string(),
    },
    totalCount: (_parent, args, context) => context.db.$count(stackComponents, componentFilter(stackComponents, args)),
    resolve: (query, _root, args, context) =>
      context.db.query.stackComponents.findMany(
        query({
          where: { RAW: (table) => componentFilter(table, args) ?? sql`true` },
          orderBy: checkedOrder(stackComponents, { type: 'asc', name: 'asc' }, args),
        }),
      ),
  }),
  component: t.drizzleField({
    authScopes: { reader: true },
    type: 'stackComponents',
    nullable: true,
    args: {
      type: t.arg({ type: ComponentTypeEnum, required: true }),
      name: t.arg.string({ required: true }),
    },
    resolve: (query, _root, args, context) =>
      context.db.query.stackComponents.findFirst(query({ where: { type: args.type, name: args.name.trim() } })),
  }),
  // The process that runs steps needs a store's credentials; the server itself never uses them.
  // Only the tokens that may report runs (editors, admins, service accounts) can read them.
  componentSecrets: t.field({
    authScopes: { reporter: true },
    type: 'JSONObject',
    nullable: true,
    description:
      "A component's secret settings, decrypted, for the process that runs steps with it; null when no such component. Editors, admins and service accounts only.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      let id: string;
      try {
        id = databaseId(args.id, 'StackComponent', 'id');
      } catch {
        return null;
      }
      const row = await context.db.query.stackComponents.findFirst({ columns: { secrets: true }, where: { id } });
      return row ? decryptSecrets(context.secretKey, row.secrets) : null;
    },
  }),
}));

const componentKey = builder.args((t) => ({
  type: t.field({ type: ComponentTypeEnum, required: true }),
  name: t.string({ required: true }),
}));

builder.mutationFields((t) => ({
  registerComponent: t.field({
    authScopes: { editor: true },
    type: StackComponentType,
    errors: { types: REGISTRY_ERRORS },
    description: 'Registers a component. Its configuration is checked against the flavor\'s schema.',
    args: {
      ...componentKey,
      flavor: t.arg.string({ required: true }),
      configuration: t.arg({ type: 'JSONObject' }),
      labels: t.arg({ type: 'JSONObject' }),
    },
    resolve: (_root, args, context) =>
      registerComponent(context.db, { ...args, labels: args.labels as Record<string, string> | null }, actor(context)),
  }),
  updateComponent: t.field({
    authScopes: { editor: true },
    type: StackComponentType,
    errors: { types: REGISTRY_ERRORS },
    description:
      'Changes settings and labels. Both are merged into the current values; a key set to null is removed. The result is checked against the flavor\'s schema.',
    args: {
      ...componentKey,
      configuration: t.arg({ type: 'JSONObject' }),
      labels: t.arg({ type: 'JSONObject' }),
    },
    resolve: (_root, args, context) => updateComponent(context.db, args, actor(context)),
  }),
  renameComponent: t.field({
    authScopes: { editor: true },
    type: StackComponentType,
    errors: { types: REGISTRY_ERRORS },
    args: { ...componentKey, newName: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => renameComponent(context.db, args.type, args.name, args.newName),
  }),
  deleteComponent: t.field({
    authScopes: { editor: true },
    type: DeleteComponentPayload,
    errors: { types: REGISTRY_ERRORS },
    description: 'Deletes a component that no stack uses.',
    args: componentKey,
    resolve: (_root, args, context) => deleteComponent(context.db, args.type, args.name),
  }),
}));
