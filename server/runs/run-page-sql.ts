// Run history pages built as JSON by the database. A history page is a thousand objects (50 runs,
// their steps, outputs and versions); mapping drizzle's rows and the planner's per-row bookkeeping
// were most of its CPU. When every field a page selects is a column or one of the relations
// below, the page is one json_agg statement (or subquery of the parent's), and the objects it
// returns carry the same properties drizzle's rows would, so the types' resolvers answer the same.
// Anything else (another field, a directive, a named fragment where none can be looked up, a
// backward page) returns null, and the planner's path serves the page as before.
import { decodeBase64, decodeCursorChunk, encodeBase64, encodeCursorTuple, getConnectionPageSize } from '@pothos/core';
import { getColumns, getTableName, sql, type Column, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { FragmentDefinitionNode, SelectionSetNode } from 'graphql';
import { artifactVersions, stepRunOutputs } from '../artifacts/artifact-tables';
import type { PageArgs } from '../page-cursors';
import type { ExecutedOperation } from '../plugins/use-operation-in-context';
import { PREBUILT } from '../prebuilt-rows-plugin';
import { runOrderBy, type RunOrder } from './run-history';
import { pipelineRuns, stepRuns } from './run-tables';

interface Relation {
  type: string;
  table: PgTable;
  list: boolean;
  /** The child's column that points at the parent, and the parent's column it points at. */
  join: [child: Column, parent: Column];
  orderBy?: Column[];
}

interface SqlType {
  table: PgTable;
  /**
   * The type's listed columns (the ones its `select` always loads): its resolvers without a
   * planner selection read only these. Each comes along when its own field is selected.
   */
  listed: Column[];
  /** Fields the planner selects a column for and whose value is that column, by the same name. */
  columns: Record<string, Column>;
  relations: Record<string, Relation>;
  /** Fields other modules build as SQL of the object's alias (registerSqlField). */
  sqlFields?: Record<string, (alias: string) => SQL>;
}

const SQL_TYPES: Record<string, SqlType> = {
  PipelineRun: {
    table: pipelineRuns,
    listed: [pipelineRuns.id, pipelineRuns.name, pipelineRuns.status, pipelineRuns.createdAt, pipelineRuns.startedAt, pipelineRuns.endedAt, pipelineRuns.durationMs],
    columns: pick(pipelineRuns, ['statusReason', 'tags', 'updatedAt', 'lastHeartbeatAt', 'detachedAt', 'config', 'metadata', 'expectedSteps', 'stackSnapshot']),
    relations: {
      steps: { type: 'StepRun', table: stepRuns, list: true, join: [stepRuns.runId, pipelineRuns.id], orderBy: [stepRuns.startedAt, stepRuns.id] },
    },
  },
  StepRun: {
    table: stepRuns,
    listed: [stepRuns.id, stepRuns.name, stepRuns.status, stepRuns.startedAt, stepRuns.endedAt, stepRuns.queuedAt],
    columns: pick(stepRuns, ['errorMessage', 'parents', 'cacheKey', 'codeHash', 'parameters', 'metadata', 'attempt', 'worker']),
    relations: {
      outputs: { type: 'StepRunOutput', table: stepRunOutputs, list: true, join: [stepRunOutputs.stepRunId, stepRuns.id], orderBy: [stepRunOutputs.name] },
    },
  },
  StepRunOutput: {
    table: stepRunOutputs,
    listed: [stepRunOutputs.name],
    columns: {},
    relations: {
      artifactVersion: { type: 'ArtifactVersion', table: artifactVersions, list: false, join: [artifactVersions.id, stepRunOutputs.artifactVersionId] },
    },
  },
  ArtifactVersion: {
    table: artifactVersions,
    listed: [artifactVersions.id, artifactVersions.version, artifactVersions.uri, artifactVersions.type, artifactVersions.sizeBytes, artifactVersions.materializer],
    columns: pick(artifactVersions, ['dataType', 'contentHash', 'tags', 'createdAt', 'metadata']),
    relations: {},
  },
};

/**
 * Lets another domain module's field of `typeName` be built here: `build` answers its value as SQL
 * of the object's alias, shaped as the field's resolver would answer it (its select's extra).
 */
export function registerSqlField(typeName: keyof typeof SQL_TYPES, fieldName: string, build: (alias: string) => SQL): void {
  const type = SQL_TYPES[typeName];
  type.sqlFields = { ...type.sqlFields, [fieldName]: build };
}

function pick<T extends PgTable>(table: T, names: string[]): Record<string, Column> {
  const columns = getColumns(table) as Record<string, Column>;
  return Object.fromEntries(names.map((name) => [name, columns[name]]));
}

/** Each type's listed columns by field name. */
const LISTED = Object.fromEntries(
  Object.entries(SQL_TYPES).map(([typeName, type]) => {
    const names = new Map([...Object.entries(getColumns(type.table))].map(([name, column]) => [column, name]));
    return [typeName, new Map(type.listed.map((column) => [names.get(column as never)!, column]))];
  }),
) as Record<string, Map<string, Column>>;

/** A column's value for JSON; timestamps as Postgres' text, the form drizzle's rows carry. */
function columnValue(alias: string, column: Column): string {
  const ref = `${alias}."${column.name}"`;
  return column.getSQLType().startsWith('timestamp') ? `${ref}::text` : ref;
}

/** What a selection set asks of one type: columns by field name, relations with their selections. */
interface Wanted {
  fields: Set<string>;
  sqlFields: Set<string>;
  relations: Map<string, SelectionSetNode[]>;
}

export type Fragments = Record<string, FragmentDefinitionNode> | undefined;

/** Collects the fields of `typeName` a selection asks for; false for anything this module cannot build. */
function collect(typeName: string, selections: SelectionSetNode, fragments: Fragments, wanted: Wanted): boolean {
  const type = SQL_TYPES[typeName];
  for (const selection of selections.selections) {
    if (selection.directives?.length) return false;
    if (selection.kind === 'Field') {
      const name = selection.name.value;
      if (name === '__typename') continue;
      if (selection.arguments?.length) return false;
      if (type.relations[name]) {
        if (!selection.selectionSet) return false;
        wanted.relations.set(name, [...(wanted.relations.get(name) ?? []), selection.selectionSet]);
      } else if (type.sqlFields?.[name]) {
        wanted.sqlFields.add(name);
      } else if (type.columns[name] || LISTED[typeName].has(name)) {
        wanted.fields.add(name);
      } else if (COMPUTED_FIELDS[typeName]?.[name]) {
        for (const column of COMPUTED_FIELDS[typeName][name]) wanted.fields.add(column);
      } else {
        return false;
      }
    } else {
      const fragment = selection.kind === 'InlineFragment' ? selection : fragments?.[selection.name.value];
      if (!fragment) return false;
      if (fragment.typeCondition && fragment.typeCondition.name.value !== typeName) return false;
      if (!collect(typeName, fragment.selectionSet, fragments, wanted)) return false;
    }
  }
  return true;
}

/** Fields whose resolvers compute from listed columns of other names, with those columns' field names. */
const COMPUTED_FIELDS: Record<string, Record<string, string[]>> = {
  StepRun: { durationMs: ['startedAt', 'endedAt'], queueWaitMs: ['startedAt', 'queuedAt'], isCached: ['status'] },
};

/** json_build_object of one object of `typeName` at `alias`, or null if the selection asks for more than columns and relations. */
function objectJson(typeName: string, selections: SelectionSetNode[], fragments: Fragments, alias: string, depth: number): SQL | null {
  const type = SQL_TYPES[typeName];
  const wanted: Wanted = { fields: new Set(), sqlFields: new Set(), relations: new Map() };
  if (!selections.every((selection) => collect(typeName, selection, fragments, wanted))) return null;
  // Only fields the drizzle plugin wraps read the mark: columns beyond the listed ones, and relations.
  const marked = wanted.relations.size > 0 || wanted.sqlFields.size > 0 || [...wanted.fields].some((name) => type.columns[name]);
  const parts: SQL[] = marked ? [sql.raw(`'${PREBUILT}', true`)] : [];
  for (const name of wanted.fields) parts.push(sql.raw(`'${name}', ${columnValue(alias, type.columns[name] ?? LISTED[typeName].get(name)!)}`));
  for (const name of wanted.sqlFields) parts.push(sql`${sql.raw(`'${name}'`)}, ${type.sqlFields![name](alias)}`);
  for (const [name, childSelections] of wanted.relations) {
    const relation = type.relations[name];
    const childAlias = `${relation.type.charAt(0).toLowerCase()}${depth + 1}`;
    const child = objectJson(relation.type, childSelections, fragments, childAlias, depth + 1);
    if (!child) return null;
    const { from: fromText, orderBy } = sqlRelation(typeName, name)!;
    const from = sql.raw(fromText(childAlias, alias));
    if (relation.list) {
      const order = sql.raw(orderBy(childAlias));
      parts.push(sql`${sql.raw(`'${name}'`)}, coalesce((select json_agg(${child} order by ${order}) ${from}), '[]'::json)`);
    } else {
      parts.push(sql`${sql.raw(`'${name}'`)}, (select ${child} ${from})`);
    }
  }
  // An object with nothing selected (only __typename) is still an object.
  return parts.length ? sql`json_build_object(${sql.join(parts, sql`, `)})` : sql`json_build_object()`;
}

/** A relation of `typeName` as SQL text: the child's table at its alias, joined to the parent's row. */
export function sqlRelation(typeName: string, name: string) {
  const relation = SQL_TYPES[typeName]?.relations[name];
  if (!relation) return undefined;
  return {
    type: relation.type,
    list: relation.list,
    from: (childAlias: string, parentAlias: string) =>
      `from "${getTableName(relation.table)}" ${childAlias} where ${childAlias}."${relation.join[0].name}" = ${parentAlias}."${relation.join[1].name}"`,
    orderBy: (childAlias: string) => (relation.orderBy ?? []).map((column) => `${childAlias}."${column.name}"`).join(', '),
  };
}

/** The node selections of a PipelineRunConnection selection, or null if it asks for something else. */
function nodeSelections(connection: readonly SelectionSetNode[], fragments: Fragments): SelectionSetNode[] | null {
  const nodes: SelectionSetNode[] = [];
  const walk = (selections: SelectionSetNode, typeName: string): boolean => {
    for (const selection of selections.selections) {
      if (selection.directives?.length) return false;
      if (selection.kind !== 'Field') {
        const fragment = selection.kind === 'InlineFragment' ? selection : fragments?.[selection.name.value];
        if (!fragment) return false;
        const condition = fragment.typeCondition?.name.value;
        // The field's result union: fragments on its error members select nothing of a page.
        if (typeName === 'PipelineRunConnection' && condition && condition !== typeName && !CONNECTION_TYPES.has(condition)) continue;
        if (condition && condition !== typeName && !(typeName === 'PipelineRunConnection' && CONNECTION_TYPES.has(condition))) return false;
        if (!walk(fragment.selectionSet, typeName)) return false;
        continue;
      }
      const name = selection.name.value;
      if (name === '__typename') continue;
      if (selection.arguments?.length) return false;
      if (typeName === 'PipelineRunConnection' && (name === 'totalCount' || name === 'pageInfo')) continue;
      if (typeName === 'PipelineRunConnection' && name === 'edges' && selection.selectionSet) {
        if (!walk(selection.selectionSet, 'PipelineRunEdge')) return false;
      } else if (typeName === 'PipelineRunEdge' && name === 'cursor') {
        continue;
      } else if (typeName === 'PipelineRunEdge' && name === 'node' && selection.selectionSet) {
        nodes.push(selection.selectionSet);
      } else {
        return false;
      }
    }
    return true;
  };
  return connection.every((selection) => walk(selection, 'PipelineRunConnection')) ? nodes : null;
}

/** The connection type and the union it is selected through, whatever the parent field. */
const CONNECTION_TYPES = new Set(['PipelineRunConnection']);

const ROOT_TYPES = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' } as const;

/**
 * The selections of the field at `path` (from a root field down, as the planner gives a field's
 * `select`) in the executed operation: every field node with its response key, through any
 * fragment. Fragments for other types add fields of theirs, which only makes the page take the
 * planner's path. Null when there is no operation or the path does not start at its root.
 */
export function selectionsAt(operation: ExecutedOperation | undefined, path: readonly { field: string; alias: string; parentType: string }[] | undefined): SelectionSetNode[] | null {
  if (!operation || !path?.length || path[0].parentType !== ROOT_TYPES[operation.definition.operation]) return null;
  let sets: SelectionSetNode[] = [operation.definition.selectionSet];
  for (const { field, alias } of path) {
    const next: SelectionSetNode[] = [];
    const visit = (set: SelectionSetNode): boolean =>
      set.selections.every((selection) => {
        if (selection.kind === 'Field') {
          if (selection.name.value === field && (selection.alias?.value ?? field) === alias && selection.selectionSet) next.push(selection.selectionSet);
          return true;
        }
        const fragment = selection.kind === 'InlineFragment' ? selection : operation.fragments[selection.name.value];
        return fragment !== undefined && visit(fragment.selectionSet);
      });
    if (!sets.every(visit) || next.length === 0) return null;
    sets = next;
  }
  return sets;
}

/** Page sizes of every run connection: the planner's path takes the same. */
export const RUN_PAGE_SIZES = { defaultSize: 20, maxSize: 100 };

export interface RunPageSql {
  /** The page as a scalar subquery of JSON text, over the runs `where` selects. */
  query(where: SQL): SQL;
}

/**
 * One page as JSON text: an array of [cursor values, run], one more than the page when there is
 * a next one. Null when the selection or the page arguments are not ones it can build: the
 * planner's path answers those. `args` are the unwrapped page arguments (RunCursors.unwrap).
 */
export function runPageSql(connection: readonly SelectionSetNode[], fragments: Fragments, args: PageArgs & { orderBy?: RunOrder | null }): RunPageSql | null {
  if (args.last != null || args.before != null) return null;
  const nodes = nodeSelections(connection, fragments);
  if (!nodes) return null;
  const run = objectJson('PipelineRun', nodes, fragments, 'r0', 0);
  return run && runPageQuery(run, args);
}

/**
 * The page of runs over `run`, the json of one run at alias r0: the page's runs as runPageSql
 * gives them, or (run-page-response.ts) the node as the response carries it, whose text is then
 * each row's second element. Null for a backward page.
 */
export function runPageQuery(run: SQL, args: PageArgs & { orderBy?: RunOrder | null }): RunPageSql | null {
  if (args.last != null || args.before != null) return null;
  const { limit } = getConnectionPageSize({ args, ...RUN_PAGE_SIZES });
  const order = Object.entries(runOrderBy(args.orderBy)).map(([key, direction]) => ({
    column: (pipelineRuns as unknown as Record<string, Column>)[key],
    direction: direction === 'asc' ? 'asc' : 'desc',
  }));
  const orderSql = (alias: string) => sql.raw(order.map(({ column, direction }) => `${alias}"${column.name}" ${direction}`).join(', '));
  let keyset: SQL = sql`true`;
  if (args.after != null) {
    // Checked by RunCursors.unwrap: a tuple of this order's column values, the column and the id.
    const values = decodeCursorChunk(decodeBase64(args.after).slice(3)) as unknown[];
    const [first, second] = order;
    const op = sql.raw(first.direction === 'asc' ? '>' : '<');
    const firstRef = sql.raw(`"pipeline_runs"."${first.column.name}"`);
    const secondRef = sql.raw(`"pipeline_runs"."${second.column.name}"`);
    keyset = sql`(${firstRef} ${op} ${values[0]} or (${firstRef} = ${values[0]} and ${secondRef} ${op} ${values[1]}))`;
  }
  const cursorValues = sql.raw(order.map(({ column }) => columnValue('r0', column)).join(', '));
  return {
    query: (where) => sql`(select coalesce(json_agg(json_build_array(json_build_array(${cursorValues}), ${run}) order by ${orderSql('r0.')}), '[]'::json)::text
      from (select * from ${pipelineRuns} where ${where} and ${keyset} order by ${orderSql('"pipeline_runs".')} limit ${limit}) r0)`,
  };
}

/** The connection as the planner's path shapes it, from the JSON text of runPageSql's query. */
export function runPageConnection(json: string, args: PageArgs) {
  const { expectedSize } = getConnectionPageSize({ args, ...RUN_PAGE_SIZES });
  const rows = JSON.parse(json) as [unknown[], Record<string, unknown>][];
  const edges = rows.slice(0, expectedSize).map(([cursor, node]) => ({ cursor: encodeBase64(`DC:${encodeCursorTuple(cursor)}`), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > expectedSize,
      hasPreviousPage: args.after != null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
