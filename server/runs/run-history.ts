// Run history pages: filters, orders and keyset cursors that remember what they were made for.
// The same connection serves Query.runs, Stack.runs, StackComponent.runs and Pipeline.runs.
import { createHash } from 'node:crypto';
import { and, arrayContains, eq, exists, gte, ilike, inArray, lte, sql, type SQL } from 'drizzle-orm';
import type { ComponentType } from '../components/component-types';
import { stackComponents } from '../components/component-tables';
import { InvalidCursorError } from '../errors';
import { databaseId } from '../ids';
import { checkPageArgs, cursorColumns, type PageArgs } from '../page-cursors';
import { escapeLike } from '../validation';
import { stacks } from '../stacks/stack-tables';
import { pipelineRunComponents, pipelineRuns, pipelines, type RunStatus } from './run-tables';

export interface RunFilter {
  runId?: string | number | null;
  stackId?: string | number | null;
  stackName?: string | null;
  component?: { type: ComponentType; name: string } | null;
  pipeline?: string | null;
  status?: RunStatus[] | null;
  createdAfter?: string | null;
  createdBefore?: string | null;
  startedAfter?: string | null;
  startedBefore?: string | null;
  tags?: string[] | null;
  nameContains?: string | null;
}

export const RUN_ORDER_FIELDS = { CREATED: 'createdAt', STARTED: 'startedAt', UPDATED: 'updatedAt', DURATION: 'durationMs' } as const;
export type RunOrderField = keyof typeof RUN_ORDER_FIELDS;
export interface RunOrder {
  field?: RunOrderField | null;
  direction?: 'ASC' | 'DESC' | null;
}

type RunTable = typeof pipelineRuns;

/** The filter as SQL over a (possibly aliased) runs table; used for pages and counts alike. */
export function runFilterSql(table: RunTable, filter: RunFilter | null | undefined): SQL | undefined {
  if (!filter) return undefined;
  const component = filter.component;
  return and(
    filter.runId != null ? eq(table.id, databaseId(filter.runId, 'PipelineRun', 'filter.runId')) : undefined,
    filter.stackId != null ? eq(table.stackId, databaseId(filter.stackId, 'Stack', 'filter.stackId')) : undefined,
    filter.stackName != null
      ? sql`${table.stackId} = (select ${stacks.id} from ${stacks} where ${stacks.name} = ${filter.stackName.trim()})`
      : undefined,
    component
      ? exists(
          sql`(select 1 from ${pipelineRunComponents} join ${stackComponents} on ${stackComponents.id} = ${pipelineRunComponents.componentId}
               where ${pipelineRunComponents.runId} = ${table.id}
                 and ${stackComponents.type} = ${component.type} and ${stackComponents.name} = ${component.name.trim()})`,
        )
      : undefined,
    filter.pipeline != null
      ? sql`${table.pipelineId} = (select ${pipelines.id} from ${pipelines} where ${pipelines.name} = ${filter.pipeline.trim()})`
      : undefined,
    filter.status?.length ? inArray(table.status, filter.status) : undefined,
    filter.createdAfter ? gte(table.createdAt, filter.createdAfter) : undefined,
    filter.createdBefore ? lte(table.createdAt, filter.createdBefore) : undefined,
    filter.startedAfter ? gte(table.startedAt, filter.startedAfter) : undefined,
    filter.startedBefore ? lte(table.startedAt, filter.startedBefore) : undefined,
    filter.tags?.length ? arrayContains(table.tags, filter.tags) : undefined,
    filter.nameContains ? ilike(table.name, `%${escapeLike(filter.nameContains)}%`) : undefined,
  );
}

/** Newest first unless asked otherwise; the id breaks ties so every run has one place. */
export function runOrderBy(order: RunOrder | null | undefined): Partial<Record<(typeof RUN_ORDER_FIELDS)[RunOrderField] | 'id', 'asc' | 'desc'>> {
  const column = RUN_ORDER_FIELDS[order?.field ?? 'CREATED'];
  const direction = order?.direction === 'ASC' ? 'asc' : 'desc';
  return { [column]: direction, id: direction };
}

interface CursorEnvelope {
  /** Fingerprint of the field, filter and order the cursor was made for. */
  f: string;
  /** The position, as the query planner encodes it. */
  c: string;
}

function fingerprint(scope: string, filter: RunFilter | null | undefined, order: RunOrder | null | undefined): string {
  const canonical = JSON.stringify([scope, canonicalize(filter ?? {}), runOrderBy(order)]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

function canonicalize(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonicalize).map((v) => JSON.stringify(v)).sort();
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v != null && !(Array.isArray(v) && v.length === 0))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, canonicalize(v)]),
    );
  }
  return value;
}

export type { PageArgs };

/**
 * Keyset cursors that carry a fingerprint of the filter and order they were made under. Pages
 * are cut by the planner's own cursors; these wrap them on the way out and check them on the
 * way in, so a cursor from another query is refused instead of silently applied.
 */
export class RunCursors {
  private readonly fingerprint: string;
  private readonly order: RunOrder | null | undefined;

  constructor(scope: string, filter: RunFilter | null | undefined, order: RunOrder | null | undefined) {
    this.fingerprint = fingerprint(scope, filter, order);
    this.order = order;
  }

  /**
   * The page arguments with our cursors unwrapped; throws InvalidCursorError on a mismatch or a
   * position that is not one of this order's, and ValidationError on a negative page size.
   */
  unwrap<T extends PageArgs>(args: T): T {
    const unwrapped = { ...args, after: this.open(args.after, 'after'), before: this.open(args.before, 'before') };
    checkPageArgs(unwrapped, cursorColumns(pipelineRuns, runOrderBy(this.order)));
    return unwrapped;
  }

  private open(cursor: string | null | undefined, field: string): string | null | undefined {
    if (cursor == null) return cursor;
    let envelope: CursorEnvelope;
    try {
      envelope = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorEnvelope;
    } catch {
      throw new InvalidCursorError(`${field} is not a cursor of this connection`, field);
    }
    if (typeof envelope?.c !== 'string' || typeof envelope.f !== 'string') {
      throw new InvalidCursorError(`${field} is not a cursor of this connection`, field);
    }
    if (envelope.f !== this.fingerprint) {
      throw new InvalidCursorError(`${field} was made for another filter or order; start again from the first page`, field);
    }
    return envelope.c;
  }

  private seal(cursor: string): string;
  private seal(cursor: string | null): string | null;
  private seal(cursor: string | null): string | null {
    if (cursor == null) return cursor;
    return Buffer.from(JSON.stringify({ f: this.fingerprint, c: cursor } satisfies CursorEnvelope)).toString('base64url');
  }

  /** The planner's connection with its cursors wrapped. */
  wrap<C extends { edges: { cursor: string }[]; pageInfo: { startCursor: string | null; endCursor: string | null } }>(connection: C): C {
    return {
      ...connection,
      edges: connection.edges.map((edge) => ({ ...edge, cursor: this.seal(edge.cursor) })),
      pageInfo: {
        ...connection.pageInfo,
        startCursor: this.seal(connection.pageInfo.startCursor),
        endCursor: this.seal(connection.pageInfo.endCursor),
      },
    };
  }
}
