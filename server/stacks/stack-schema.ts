// GraphQL for stacks: the Stack type, its queries, and the mutations that register and change stacks.
import { actor, callerId } from '../context';
import { and, eq, exists, ilike, sql, type SQL } from 'drizzle-orm';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder';
import { stackComponents } from '../components/component-tables';
import { COMPONENT_TYPES, type ComponentType } from '../components/component-types';
import { ComponentTypeEnum, StackComponentType } from '../components/component-schema';
import { REGISTRY_ERRORS } from '../errors';
import { NAME } from '../name-arguments';
import { checkedOrder, PAGE_ERRORS } from '../page-cursors';
import { escapeLike } from '../validation';
import {
  activeStackIdSql,
  camelCase,
  copyStack,
  deleteStack,
  registerStack,
  removeStackComponents,
  renameStack,
  setActiveStack,
  updateStack,
  type ComponentNames,
  type DeletedStack,
} from './stack-service';
import { exportStack, importStack, type ImportedStack } from './stack-yaml';
import { stackComponentAssignments, stacks } from './stack-tables';

export const StackType = builder.drizzleNode('stacks', {
  name: 'Stack',
  // The name always, read straight off the row (see PipelineRun); other columns when asked for.
  select: { columns: { id: true, name: true } },
  description: 'The infrastructure a pipeline runs on: at most one component of each type.',
  id: { column: (stack) => stack.id },
  fields: (t) => ({
    name: t.string({ resolve: (stack) => stack.name }),
    description: t.exposeString('description'),
    labels: t.field({ type: 'JSONObject', select: { columns: { labels: true } }, resolve: (stack) => stack.labels }),
    isDefault: t.exposeBoolean('isDefault'),
    isActive: t.boolean({
      description: "Whether this is the caller's active stack, which runs use unless told otherwise.",
      select: (_args, context) => ({
        extras: { isActive: (table) => sql<boolean>`${table.id} = ${activeStackIdSql(callerId(context))}` },
      }),
      resolve: (stack) => stack.isActive,
    }),
    components: t.relation('components', {
      description: 'The components, ordered by type.',
      query: { orderBy: { type: 'asc' } },
    }),
    component: t.field({
      type: StackComponentType,
      nullable: true,
      description: 'The component of one type, if the stack has one.',
      args: { type: t.arg({ type: ComponentTypeEnum, required: true }) },
      // The type column is added to what the component's own fields select, to pick it here.
      select: (_args, _context, nestedSelection) => ({
        with: { components: nestedSelection({ columns: { type: true }, orderBy: { type: 'asc' } }) },
      }),
      resolve: (stack, args) => (stack.components.find((component) => component.type === args.type) ?? null) as never,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const ComponentRefInput = builder.inputType('ComponentRefInput', {
  description: 'A component, named by type and name.',
  fields: (t) => ({
    type: t.field({ type: ComponentTypeEnum, required: true }),
    name: t.string({ required: true }),
  }),
});

/** One optional component name per type: the stack's members as `type → name`. */
const StackComponentsInput = builder.inputType('StackComponentsInput', {
  description: 'Component names by type. A stack needs an orchestrator and an artifact store.',
  fields: (t) =>
    Object.fromEntries(COMPONENT_TYPES.map((type) => [camelCase(type), t.string({ required: false, ...NAME })])) as Record<
      string,
      ReturnType<typeof t.string>
    >,
});

function componentNames(input: Record<string, string | null | undefined> | null | undefined): ComponentNames {
  const names: ComponentNames = {};
  for (const type of COMPONENT_TYPES) {
    const name = input?.[camelCase(type)];
    if (name != null) names[type] = name;
  }
  return names;
}

interface StackFilter {
  nameContains?: string | null;
  component?: { type: ComponentType; name: string } | null;
}

/** One filter for both the page and its count, so they can never disagree. */
function stackFilter(table: typeof stacks, filter: StackFilter): SQL | undefined {
  const component = filter.component;
  return and(
    filter.nameContains ? ilike(table.name, `%${escapeLike(filter.nameContains)}%`) : undefined,
    component
      ? exists(
          sql`(select 1 from ${stackComponentAssignments} join ${stackComponents} on ${stackComponents.id} = ${stackComponentAssignments.componentId}
               where ${stackComponentAssignments.stackId} = ${table.id}
                 and ${stackComponents.type} = ${component.type} and ${stackComponents.name} = ${component.name.trim()})`,
        )
      : undefined,
  );
}

builder.queryFields((t) => ({
  stacks: t.drizzleConnection({
    authScopes: { reader: true },
    type: 'stacks',
    errors: PAGE_ERRORS,
    description: 'Stacks by name.',
    args: {
      nameContains: t.arg.string(),
      component: t.arg({ type: ComponentRefInput, description: 'Only stacks that use this component.' }),
    },
    totalCount: (_parent, args, context) => context.db.$count(stacks, stackFilter(stacks, args)),
    resolve: (query, _root, args, context) =>
      context.db.query.stacks.findMany(
        query({ where: { RAW: (table) => stackFilter(table, args) ?? sql`true` }, orderBy: checkedOrder(stacks, { name: 'asc' }, args) }),
      ),
  }),
  stack: t.drizzleField({
    authScopes: { reader: true },
    type: 'stacks',
    nullable: true,
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, args, context) =>
      context.db.query.stacks.findFirst(query({ where: { name: args.name.trim() } })),
  }),
  activeStack: t.drizzleField({
    authScopes: { reader: true },
    type: 'stacks',
    description: "The caller's active stack: the one runs use unless told otherwise.",
    resolve: async (query, _root, _args, context) => {
      const stack = await context.db.query.stacks.findFirst(
        query({ where: { RAW: (table) => sql`${table.id} = ${activeStackIdSql(callerId(context))}` } }),
      );
      if (!stack) throw new Error('The default stack is missing');
      return stack;
    },
  }),
  exportStack: t.field({
    authScopes: { reader: true },
    type: builder.objectRef<{ yaml: string }>('ExportStackPayload').implement({
      fields: (f) => ({ yaml: f.exposeString('yaml') }),
    }),
    errors: { types: REGISTRY_ERRORS },
    description: 'The stack and its components as YAML, without secrets; importStack reads it back.',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, args, context) => ({ yaml: await exportStack(context.db, args.name) }),
  }),
}));

const DeleteStackPayload = builder.objectRef<DeletedStack>('DeleteStackPayload').implement({
  fields: (t) => ({
    deletedId: t.id({ resolve: ({ stack }) => encodeGlobalID('Stack', stack.id) }),
    deletedComponents: t.field({
      type: [builder.objectRef<DeletedStack['deletedComponents'][number]>('DeletedComponent').implement({
        fields: (f) => ({
          id: f.exposeID('id'),
          type: f.field({ type: ComponentTypeEnum, resolve: (component) => component.type }),
          name: f.exposeString('name'),
        }),
      })],
      description: 'Components deleted with the stack (recursive delete only).',
      resolve: ({ deletedComponents }) => deletedComponents,
    }),
  }),
});

const ImportStackPayload = builder.objectRef<ImportedStack>('ImportStackPayload').implement({
  fields: (t) => ({
    stack: t.field({ type: StackType, resolve: (result) => result.stack }),
    reusedComponents: t.field({
      type: [StackComponentType],
      description: 'Existing components with identical type, flavor and settings, used as they are.',
      resolve: (result) => result.reusedComponents,
    }),
    createdComponents: t.field({ type: [StackComponentType], resolve: (result) => result.createdComponents }),
  }),
});

builder.mutationFields((t) => ({
  registerStack: t.field({
    authScopes: { editor: true },
    type: StackType,
    errors: { types: REGISTRY_ERRORS },
    args: {
      name: t.arg.string({ required: true }),
      description: t.arg.string(),
      labels: t.arg({ type: 'JSONObject' }),
      components: t.arg({ type: StackComponentsInput, required: true }),
    },
    resolve: (_root, args, context) =>
      registerStack(context.db, { ...args, components: componentNames(args.components) }, actor(context)),
  }),
  updateStack: t.field({
    authScopes: { editor: true },
    type: StackType,
    errors: { types: REGISTRY_ERRORS },
    description:
      'Replaces the component of each type given and adds the others; labels are merged (null removes a key).',
    args: {
      name: t.arg.string({ required: true }),
      description: t.arg.string(),
      labels: t.arg({ type: 'JSONObject' }),
      components: t.arg({ type: StackComponentsInput }),
    },
    resolve: (_root, args, context) =>
      updateStack(context.db, { ...args, components: componentNames(args.components) }),
  }),
  removeStackComponents: t.field({
    authScopes: { editor: true },
    type: StackType,
    errors: { types: REGISTRY_ERRORS },
    description: 'Removes optional components. The orchestrator and artifact store can only be replaced.',
    args: {
      name: t.arg.string({ required: true }),
      types: t.arg({ type: [ComponentTypeEnum], required: true }),
    },
    resolve: (_root, args, context) => removeStackComponents(context.db, args.name, args.types),
  }),
  renameStack: t.field({
    authScopes: { editor: true },
    type: StackType,
    errors: { types: REGISTRY_ERRORS },
    args: { name: t.arg.string({ required: true }), newName: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => renameStack(context.db, args.name, args.newName),
  }),
  copyStack: t.field({
    authScopes: { editor: true },
    type: StackType,
    errors: { types: REGISTRY_ERRORS },
    description: 'Makes a new stack that uses the same components.',
    args: { name: t.arg.string({ required: true }), newName: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => copyStack(context.db, args.name, args.newName, actor(context)),
  }),
  deleteStack: t.field({
    authScopes: { editor: true },
    type: DeleteStackPayload,
    errors: { types: REGISTRY_ERRORS },
    description: 'Deletes a stack; with recursive, also its components that no other stack uses.',
    args: { name: t.arg.string({ required: true }), recursive: t.arg.boolean({ defaultValue: false }) },
    resolve: (_root, args, context) => deleteStack(context.db, callerId(context), args.name, args.recursive ?? false),
  }),
  setActiveStack: t.field({
    authScopes: { editor: true },
    type: StackType,
    errors: { types: REGISTRY_ERRORS },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => setActiveStack(context.db, callerId(context), args.name),
  }),
  importStack: t.field({
    authScopes: { editor: true },
    type: ImportStackPayload,
    errors: { types: REGISTRY_ERRORS },
    description: 'Registers a stack from exportStack YAML, reusing identical components.',
    args: {
      yaml: t.arg.string({ required: true }),
      name: t.arg.string({ description: 'Name for the new stack; defaults to the name in the YAML.' }),
    },
    resolve: (_root, args, context) => importStack(context.db, args.yaml, args.name, actor(context)),
  }),
}));
