// Search by name across the registry and run history: stacks, components, pipelines, runs and
// artifacts, as one typed union, found and ranked in one SQL statement.
import { getColumns, sql, type Column, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { builder } from '../builder';
import type { Database } from '../db/database';
import { ArtifactType } from '../artifacts/artifact-schema';
import { artifacts } from '../artifacts/artifact-tables';
import { StackComponentType } from '../components/component-schema';
import { stackComponents } from '../components/component-tables';
import { ValidationError } from '../errors';
import { PipelineRunType, PipelineType } from '../runs/run-schema';
import { pipelineRuns, pipelines } from '../runs/run-tables';
import { StackType } from '../stacks/stack-schema';
import { stacks } from '../stacks/stack-tables';
import { escapeLike } from '../validation';

export const MAX_SEARCH_HITS = 50;
const DEFAULT_SEARCH_HITS = 20;
const MAX_QUERY_LENGTH = 255;

/**
 * What each kind of hit is found in, and the columns its row carries: the ones its type always
 * selects and reads straight off the row, so a search that asks only for those (the dashboard's)
 * is the one statement. Any other field is loaded by the planner, as for any row.
 */
const SEARCHED = {
  Stack: { table: stacks, columns: ['id', 'name'] },
  StackComponent: { table: stackComponents, columns: ['id', 'type', 'name', 'flavor'] },
  Pipeline: { table: pipelines, columns: ['id', 'name', 'createdAt'] },
  PipelineRun: { table: pipelineRuns, columns: ['id', 'name', 'status', 'createdAt', 'startedAt', 'endedAt', 'durationMs'] },
  Artifact: { table: artifacts, columns: ['id', 'name', 'latestVersion', 'createdAt'] },
} satisfies Record<string, { table: PgTable; columns: string[] }>;

type HitKind = keyof typeof SEARCHED;

/** The kind of a hit, on its row: the union tells its members apart by it. */
const KIND = Symbol('search hit kind');
type Hit = Record<string, unknown> & { [KIND]: HitKind };

export const SearchHitType = builder.unionType('SearchHit', {
  description: 'Something found by name.',
  types: [StackType, StackComponentType, PipelineType, PipelineRunType, ArtifactType],
  resolveType: (hit) => (hit as unknown as Hit)[KIND],
});

const SearchResultsType = builder.objectRef<{ query: string; hits: Hit[] }>('SearchResults').implement({
  fields: (t) => ({
    query: t.exposeString('query', { description: 'The text searched for, trimmed.' }),
    hits: t.field({
      type: [SearchHitType],
      description: 'Exact names first, then names that start with the text, then names that contain it; shorter names first within each.',
      resolve: (results) => results.hits as never,
    }),
  }),
});

/** A row as JSON with Drizzle's field names, timestamps as Postgres' text, as a loaded row has them. */
function rowJson(table: PgTable, alias: string, names: string[]): SQL {
  const columns = getColumns(table) as Record<string, Column>;
  const parts = names.map((name) => {
    const column = columns[name];
    const ref = `${alias}."${column.name}"`;
    return `'${name}', ${column.getSQLType().startsWith('timestamp') ? `${ref}::text` : ref}`;
  });
  return sql.raw(`json_build_object(${parts.join(', ')})`);
}

/**
 * Every kind's best matches, ranked together, in one statement: 0 for the name itself (case
 * aside), 1 for a name that starts with the text, 2 for one that contains it.
 */
async function search(db: Database, text: string, first: number): Promise<Hit[]> {
  const contains = `%${escapeLike(text)}%`;
  const prefix = `${escapeLike(text)}%`;
  const branches = (Object.entries(SEARCHED) as [HitKind, (typeof SEARCHED)[HitKind]][]).map(([kind, { table, columns }]) => {
    const rank = sql`case when lower(m.name) = lower(${text}) then 0 when m.name ilike ${prefix} then 1 else 2 end`;
    // The best matches by id first, and only their rows as JSON: a name that many runs share
    // would otherwise build JSON for every one of them before the limit.
    return sql`(select ${kind}::text as kind, best.rank, h.name, ${rowJson(table, 'h', columns)} as row
      from (select m.id, ${rank} as rank from ${table} m where m.name ilike ${contains}
            order by 2, length(m.name), m.name limit ${first}) best
      join ${table} h on h.id = best.id)`;
  });
  const result = (await db.execute(sql`select kind, row from (${sql.join(branches, sql` union all `)}) hits
    order by rank, length(name), name, kind limit ${first}`)) as unknown as { rows: { kind: HitKind; row: Record<string, unknown> }[] };
  return result.rows.map(({ kind, row }) => ({ ...row, [KIND]: kind }));
}

builder.queryFields((t) => ({
  search: t.field({
    authScopes: { reader: true },
    type: SearchResultsType,
    errors: { types: [ValidationError] },
    description: `Stacks, components, pipelines, runs and artifacts whose name contains the text (case aside). At most ${MAX_SEARCH_HITS} hits.`,
    args: {
      query: t.arg.string({ required: true }),
      first: t.arg.int({ description: `How many hits; ${DEFAULT_SEARCH_HITS} when absent, at most ${MAX_SEARCH_HITS}.` }),
    },
    resolve: async (_root, args, context) => {
      const text = args.query.trim();
      if (text.length === 0) throw new ValidationError('query must not be empty', 'query');
      if (text.length > MAX_QUERY_LENGTH) throw new ValidationError(`query must be at most ${MAX_QUERY_LENGTH} characters`, 'query');
      const first = args.first ?? DEFAULT_SEARCH_HITS;
      if (first < 1 || first > MAX_SEARCH_HITS) throw new ValidationError(`first must be between 1 and ${MAX_SEARCH_HITS}`, 'first');
      return { query: text, hits: await search(context.db, text, first) };
    },
  }),
}));
