// Run history pages answered as response text built by the database. A page built in SQL
// (run-page-sql.ts) still cost graphql-js a walk over its ~1,300 objects, field by field, and
// the garbage of it. When a page's edges ask only for fields whose answer is a column's value as
// GraphQL would serialise it (listed below), the database writes each edge's node exactly as the
// response carries it (aliases, __typename, order), and graphql-js never sees the edges:
// - before execution, the document's `edges` field of such a connection becomes
//   `edges: __typename` (a copy; yoga caches documents), so graphql-js still executes every
//   root field with its scope checks, the connection, pageInfo and totalCount, and answers a
//   string where the edges go;
// - the connection's resolver (run-schema.ts) keeps the edges' text, cursors sealed as always;
// - the result's own `stringify` (which yoga's result processor uses) puts the text in place of
//   that string. A result with errors is spliced as objects, so masking sees what it always did.
// No field under the edges has a scope of its own: only the root field's check guards a page,
// and it still runs. Anything else (a directive, a named fragment around the connection, an
// argument, a field not listed, `last`/`before`) leaves the document as it is.
import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isListType,
  isObjectType,
  Kind,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { sql, type SQL } from 'drizzle-orm';
import { sqlRelation, type Fragments } from './run-page-sql';

/** The fields whose connection's resolver keeps the edges' text (run-schema.ts). */
const RUN_PAGE_FIELDS = new Set(['Query.runs', 'Stack.runs', 'StackComponent.runs', 'Pipeline.runs']);

/** A field's answer as SQL json over the row at `alias`, as the type's resolver and scalar would give it. */
type FieldJson = (alias: string) => string;

const column = (name: string): FieldJson => (alias) => `${alias}."${name}"`;
const upper = (column: string): FieldJson => (alias) => `upper(${alias}."${column}"::text)`;
const globalId = (typeName: string): FieldJson => (alias) =>
  `translate(encode(convert_to('${typeName}:' || ${alias}."id", 'UTF8'), 'base64'), E'\\n', '')`;
/** The DateTime scalar's isoTimestamp over Postgres' text: a space becomes T, +00 Z, +hh +hh:00. */
const dateTime = (column: string): FieldJson => (alias) =>
  `regexp_replace(regexp_replace(replace(${alias}."${column}"::text, ' ', 'T'), '([+-]\\d\\d)$', '\\1:00'), '[+-]00:00$', 'Z')`;

const FIELDS: Record<string, Record<string, FieldJson>> = {
  PipelineRun: {
    id: globalId('PipelineRun'),
    name: column('name'),
    status: upper('status'),
    statusReason: column('status_reason'),
    tags: column('tags'),
    createdAt: dateTime('created_at'),
    startedAt: dateTime('started_at'),
    endedAt: dateTime('ended_at'),
    updatedAt: dateTime('updated_at'),
    lastHeartbeatAt: dateTime('last_heartbeat_at'),
    detachedAt: dateTime('detached_at'),
    durationMs: (alias) => `case when ${alias}."duration_ms" < 0 then null else ${alias}."duration_ms" end`,
  },
  StepRun: {
    id: globalId('StepRun'),
    name: column('name'),
    status: upper('status'),
    errorMessage: column('error_message'),
    parents: column('parents'),
    cacheKey: column('cache_key'),
    codeHash: column('code_hash'),
    isCached: (alias) => `${alias}."status" = 'cached'`,
    startedAt: dateTime('started_at'),
    endedAt: dateTime('ended_at'),
  },
  StepRunOutput: { name: column('name') },
  ArtifactVersion: {
    id: globalId('ArtifactVersion'),
    version: column('version'),
    uri: column('uri'),
    type: column('type'),
    dataType: column('data_type'),
    materializer: column('materializer'),
    contentHash: column('content_hash'),
    tags: column('tags'),
    createdAt: dateTime('created_at'),
  },
};

/**
 * Whether a field, its type or an interface of its type has a scope of its own (scope-auth's
 * authScopes or grantScopes): graphql-js must then run it. None of the page's fields has one
 * today, so only the root field's check guards a page; this keeps it so if one is added.
 */
function hasOwnScopes(type: GraphQLObjectType, fieldName: string): boolean {
  const scoped = (extensions: { pothosOptions?: { authScopes?: unknown; grantScopes?: unknown } } | null | undefined) =>
    extensions?.pothosOptions?.authScopes !== undefined || extensions?.pothosOptions?.grantScopes !== undefined;
  return [type, ...type.getInterfaces()].some((owner) => scoped(owner.extensions)) || scoped(type.getFields()[fieldName]?.extensions);
}

/** Postgres functions take at most 100 arguments: json_build_object 50 keys (the query limits' 30 aliases keep below it today). */
const MAX_KEYS = 50;

/** Fields of one concrete type by response key, in graphql-js' order; null for anything not plain. */
function collectFields(schema: GraphQLSchema, type: GraphQLObjectType, sets: readonly SelectionSetNode[], fragments: Fragments | null): Map<string, FieldNode[]> | null {
  const fields = new Map<string, FieldNode[]>();
  const visitSet = (set: SelectionSetNode): boolean =>
    set.selections.every((selection) => {
      if (selection.directives?.length) return false;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        fields.set(key, [...(fields.get(key) ?? []), selection]);
        return true;
      }
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments?.[selection.name.value];
      if (!fragment) return false;
      const condition = fragment.typeCondition && schema.getType(fragment.typeCondition.name.value);
      if (condition && condition !== type && !(isAbstractType(condition) && schema.isSubType(condition, type))) return true;
      return visitSet(fragment.selectionSet);
    });
  return sets.every(visitSet) ? fields : null;
}

/** json_build_object of one object as the response carries it, or null if a field is not one SQL answers. */
function objectJson(schema: GraphQLSchema, typeName: string, sets: readonly SelectionSetNode[], fragments: Fragments, alias: string, depth: number): string | null {
  const type = schema.getType(typeName) as GraphQLObjectType;
  const fields = collectFields(schema, type, sets, fragments);
  if (!fields || fields.size > MAX_KEYS) return null;
  const parts: string[] = [];
  for (const [key, nodes] of fields) {
    const name = nodes[0].name.value;
    if (nodes.some((node) => node.arguments?.length) || hasOwnScopes(type, name)) return null;
    let value: string | null;
    if (name === '__typename') {
      value = `'${typeName}'`;
    } else if (FIELDS[typeName]?.[name]) {
      value = FIELDS[typeName][name](alias);
    } else {
      const relation = sqlRelation(typeName, name);
      if (!relation) return null;
      const childAlias = `${relation.type.charAt(0).toLowerCase()}${depth + 1}`;
      const child = objectJson(schema, relation.type, nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : [])), fragments, childAlias, depth + 1);
      if (!child) return null;
      const from = relation.from(childAlias, alias);
      value = relation.list
        ? `coalesce((select json_agg(${child} order by ${relation.orderBy(childAlias)}) ${from}), '[]'::json)`
        : `(select ${child} ${from})`;
    }
    parts.push(`'${key.replace(/'/g, "''")}', ${value}`);
  }
  return `json_build_object(${parts.join(', ')})`;
}

/** What an edge of the page answers, by response key, in order. */
type EdgeKey = { key: string; kind: 'cursor' | 'node' | '__typename' };

/** How a connection field's edges are answered as text. */
export interface PageResponse {
  /** Response keys of `edges` fields in the connection, each answered by the same edge text. */
  edgesKeys: string[];
  edge: EdgeKey[];
  /** The node of an edge as SQL json over the run at alias r0 (an empty object when no node is asked). */
  node: SQL;
  /** Variables that must be null for the page to be one SQL builds (last, before). */
  nullVariables: string[];
}

interface Rewrite {
  document: DocumentNode;
  /** By the rewritten connection field node, for its resolver, and by the original's selection set, for its `select`. */
  pages: WeakMap<FieldNode | SelectionSetNode, PageResponse>;
  nullVariables: string[];
}

/** The page's edges, or null when something in the connection's selection is not plain. */
function pageResponse(schema: GraphQLSchema, field: FieldNode, fragments: Fragments): PageResponse | null {
  const nullVariables: string[] = [];
  for (const argument of field.arguments ?? []) {
    if (argument.name.value !== 'last' && argument.name.value !== 'before') continue;
    if (argument.value.kind === Kind.VARIABLE) nullVariables.push(argument.value.name.value);
    else if (argument.value.kind !== Kind.NULL) return null;
  }
  const connectionType = schema.getType('PipelineRunConnection') as GraphQLObjectType;
  // Named fragments around the connection may be shared with other fields: only inline ones here.
  const connection = field.selectionSet && collectFields(schema, connectionType, [field.selectionSet], null);
  if (!connection) return null;
  const edgesKeys = [...connection].filter(([, nodes]) => nodes[0].name.value === 'edges').map(([key]) => key);
  if (edgesKeys.length !== 1) return null;
  const edgesNodes = connection.get(edgesKeys[0])!;
  if (hasOwnScopes(connectionType, 'edges') || edgesNodes.some((node) => node.arguments?.length)) return null;
  const edgeType = schema.getType('PipelineRunEdge') as GraphQLObjectType;
  const edgeSets = edgesNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  const edgeFields = collectFields(schema, edgeType, edgeSets, fragments);
  if (!edgeFields) return null;
  const edge: EdgeKey[] = [];
  let nodeSets: SelectionSetNode[] = [];
  for (const [key, nodes] of edgeFields) {
    const kind = nodes[0].name.value as EdgeKey['kind'];
    if (kind !== '__typename' && (hasOwnScopes(edgeType, kind) || nodes.some((node) => node.arguments?.length))) return null;
    if (kind === 'node') {
      if (edge.some((other) => other.kind === 'node')) return null;
      nodeSets = nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
    }
    edge.push({ key, kind });
  }
  const node = edge.some((key) => key.kind === 'node') ? objectJson(schema, 'PipelineRun', nodeSets, fragments, 'r0', 0) : 'json_build_object()';
  if (!node) return null;
  return { edgesKeys, edge, node: sql.raw(node), nullVariables };
}

/**
 * The operation with the edges of every page SQL can answer replaced by `edges: __typename`, or
 * null when there is none. Only fields reached without named fragments are looked at, and a
 * runs field merged with another of its response key is left alone.
 */
function rewrite(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, fragments: Fragments): Rewrite | null {
  const replaced = new Map<FieldNode, FieldNode>();
  const pages = new WeakMap<FieldNode | SelectionSetNode, PageResponse>();
  const nullVariables: string[] = [];
  // Root fields and their fields only, none of them lists: the positions whose selection the
  // connection's `select` finds (run-page-sql.ts' selectionsAt) from the path the planner gives.
  const walk = (type: GraphQLNamedType, sets: readonly SelectionSetNode[], depth: number) => {
    const types = isAbstractType(type) ? schema.getPossibleTypes(type) : isObjectType(type) ? [type] : [];
    for (const objectType of types) {
      const fields = collectFields(schema, objectType, sets, null);
      if (!fields) continue;
      for (const nodes of fields.values()) {
        const name = nodes[0].name.value;
        const definition = objectType.getFields()[name];
        if (!definition) continue;
        if (RUN_PAGE_FIELDS.has(`${objectType.name}.${name}`)) {
          const page = nodes.length === 1 && !replaced.has(nodes[0]) ? pageResponse(schema, nodes[0], fragments) : null;
          if (page) {
            const edges: FieldNode = {
              kind: Kind.FIELD,
              alias: { kind: Kind.NAME, value: page.edgesKeys[0] },
              name: { kind: Kind.NAME, value: '__typename' },
            };
            const connection = visit(nodes[0], {
              Field: (node) => (node !== nodes[0] && node.name.value === 'edges' ? edges : undefined),
            });
            replaced.set(nodes[0], connection);
            pages.set(connection, page);
            pages.set(nodes[0].selectionSet!, page);
            nullVariables.push(...page.nullVariables);
          }
          continue;
        }
        if (depth > 0 || isListType(getNullableType(definition.type))) continue;
        walk(getNamedType(definition.type), nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : [])), depth + 1);
      }
    }
  };
  const root = schema.getRootType(operation.operation);
  if (!root) return null;
  walk(root, [operation.selectionSet], 0);
  if (replaced.size === 0) return null;
  const rewritten = visit(document, {
    OperationDefinition: (node) => (node === operation ? undefined : false),
    Field: (node) => replaced.get(node),
  });
  return { document: rewritten, pages, nullVariables };
}

/** Where the edges' text goes, kept by the connection's resolver. */
interface Splice {
  path: (string | number)[];
  edgesKeys: string[];
  text: string;
}

export interface PageResponseContext {
  /** Set when the executing document is a rewritten one: its connections' edge answers. */
  pageResponses?: { pages: WeakMap<FieldNode | SelectionSetNode, PageResponse>; splices: Splice[] };
}

/**
 * The page's response for a connection field node of the executing document, or for the
 * selection sets selectionsAt finds for it in the operation as sent, if it is one.
 */
export function pageResponseOf(context: PageResponseContext, field: FieldNode | readonly SelectionSetNode[] | null): PageResponse | undefined {
  if (!field || !context.pageResponses) return undefined;
  if ('kind' in field) return context.pageResponses.pages.get(field);
  return field.length === 1 ? context.pageResponses.pages.get(field[0]) : undefined;
}

/**
 * Keeps the edges' text of a page for the response: from the runs' JSON text of runPageSql's
 * query (rows of [cursor values, node json text], one more than the page when there is a next
 * one). The connection it returns has no edges; graphql-js answers a string in their place.
 */
export function keepEdges<C extends { edges: { cursor: string; node: unknown }[] }>(context: PageResponseContext, page: PageResponse, path: (string | number)[], connection: C): C {
  const edges = connection.edges.map((edge) => {
    const parts = page.edge.map(({ key, kind }) => {
      const value = kind === 'cursor' ? JSON.stringify(edge.cursor) : kind === 'node' ? (edge.node as string) : '"PipelineRunEdge"';
      return `${JSON.stringify(key)}:${value}`;
    });
    return `{${parts.join(',')}}`;
  });
  context.pageResponses!.splices.push({ path, edgesKeys: page.edgesKeys, text: `[${edges.join(',')}]` });
  return { ...connection, edges: [] };
}

/** A placeholder no answer can hold: NUL is refused in input and cannot be stored in Postgres text. */
const TOKEN = '\u0000stackyard-edges-';
const TOKEN_JSON = /"\\u0000stackyard-edges-(\d+)"/g;

export function usePageResponses(): Plugin<PageResponseContext> {
  const byDocument = new WeakMap<DocumentNode, Map<string | undefined, Rewrite | null>>();
  return {
    onExecute({ args }) {
      const operation = (args.contextValue as { operation?: { definition: OperationDefinitionNode; fragments: Fragments } }).operation;
      if (!operation || operation.definition.operation !== 'query') return;
      let rewrites = byDocument.get(args.document);
      if (!rewrites) byDocument.set(args.document, (rewrites = new Map()));
      const name = args.operationName ?? undefined;
      if (!rewrites.has(name)) rewrites.set(name, rewrite(args.schema, args.document, operation.definition, operation.fragments ?? {}));
      const found = rewrites.get(name);
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      if (!found || found.nullVariables.some((variable) => variables[variable] != null)) return;
      const splices: Splice[] = [];
      (args.contextValue as PageResponseContext).pageResponses = { pages: found.pages, splices };
      (args as { document: DocumentNode }).document = found.document;
      return {
        onExecuteDone({ result }) {
          if (!splices.length || !('data' in result) || !result.data) return;
          const texts: string[] = [];
          for (const { path, edgesKeys, text } of splices) {
            let connection: any = result.data;
            for (const key of path) connection = connection?.[key];
            if (!connection || typeof connection !== 'object') continue;
            for (const key of edgesKeys) {
              if (typeof connection[key] !== 'string') continue;
              if (result.errors?.length) {
                connection[key] = JSON.parse(text);
              } else {
                connection[key] = `${TOKEN}${texts.length}`;
                texts.push(text);
              }
            }
          }
          if (texts.length) {
            (result as { stringify?: (value: unknown) => string }).stringify = (value) =>
              JSON.stringify(value).replace(TOKEN_JSON, (_match, index: string) => texts[Number(index)]);
          }
        },
      };
    },
  };
}
