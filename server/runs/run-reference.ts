// How people name a run on the command line: its name, its global id, its UUID or a unique
// prefix of that UUID, as git names a commit. One query answers which run that is, in one
// SQL statement; an ambiguous prefix answers the candidates instead of guessing.
import { sql } from 'drizzle-orm';
import { builder } from '../builder';
import { NAME } from '../name-arguments';
import { ErrorInterface, NotFoundError, UserError, ValidationError } from '../errors';
import { databaseId } from '../ids';
import { pipelineRuns } from './run-tables';

/** The most candidates an ambiguous reference lists. */
const MAX_CANDIDATES = 10;

/** A UUID prefix names more than one run; `candidates` are `name (uuid)` of some of them. */
export class AmbiguousReferenceError extends UserError {
  constructor(message: string, field: string, readonly candidates: string[]) {
    super(message, field);
  }
}

builder.objectType(AmbiguousReferenceError, {
  name: 'AmbiguousReferenceError',
  description: 'The reference is the start of the ids of several objects; candidates lists some of them.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof AmbiguousReferenceError,
  fields: (t) => ({ candidates: t.exposeStringList('candidates') }),
});

const HEX_PREFIX = /^[0-9a-f]{1,32}$/;

/** `abc` → `abc00000-0000-0000-0000-000000000000`: a prefix as an index-ordered UUID bound. */
function uuidBound(hex: string, fill: '0' | 'f'): string {
  const full = hex.padEnd(32, fill);
  return `${full.slice(0, 8)}-${full.slice(8, 12)}-${full.slice(12, 16)}-${full.slice(16, 20)}-${full.slice(20)}`;
}

/** The run's UUID named by a global id or a full UUID, if the reference is one. */
function exactId(reference: string): string | null {
  try {
    return databaseId(reference, 'PipelineRun', 'reference');
  } catch {
    const hex = reference.toLowerCase().replaceAll('-', '');
    return hex.length === 32 && HEX_PREFIX.test(hex) ? uuidBound(hex, '0') : null;
  }
}

builder.queryFields((t) => ({
  runByReference: t.drizzleField({
    authScopes: { reader: true },
    type: 'pipelineRuns',
    errors: { types: [ValidationError, NotFoundError, AmbiguousReferenceError] },
    description: 'The run with this name, global id, UUID or unique UUID prefix (as `stackyard run describe` takes).',
    args: { reference: t.arg.string({ required: true, ...NAME }) },
    resolve: async (query, _root, args, context) => {
      // Already trimmed and NFC-normalised: the argument is a name (server/name-arguments.ts).
      const { reference } = args;
      if (!reference) throw new ValidationError('Name a run by its name, id or the start of its UUID', 'reference');
      const id = exactId(reference);
      const hex = reference.toLowerCase().replaceAll('-', '');
      // A prefix is a range of the primary key's index; a UUID-shaped prefix with dashes in
      // other places than a UUID's would not match any id, and is taken as a name only.
      const prefix = !id && HEX_PREFIX.test(hex) && uuidBound(hex, '0').startsWith(reference.toLowerCase()) ? hex : null;
      // Whatever else the query selects, a run's id and name always load (PipelineRun's select).
      const matches = (await context.db.query.pipelineRuns.findMany(
        query({
          where: {
            RAW: (runs) =>
              sql`(${runs.name} = ${reference}${id ? sql` or ${runs.id} = ${id}` : sql``}${
                prefix ? sql` or ${runs.id} between ${uuidBound(prefix, '0')} and ${uuidBound(prefix, 'f')}` : sql``
              })`,
          },
          orderBy: { createdAt: 'desc', id: 'desc' },
          limit: MAX_CANDIDATES + 1,
        }),
      )) as unknown as (typeof pipelineRuns.$inferSelect)[];
      // The name or the whole id wins over runs whose id merely starts with the same characters.
      const exact = matches.find((run) => run.name === reference || run.id === id);
      if (exact) return exact;
      if (matches.length === 1) return matches[0];
      if (matches.length === 0) throw new NotFoundError(`No run has the name, id or id prefix "${reference}"`, 'reference');
      const candidates = matches.slice(0, MAX_CANDIDATES).map((run) => `${run.name} (${run.id})`);
      const more = matches.length > MAX_CANDIDATES ? ', and more' : '';
      throw new AmbiguousReferenceError(
        `"${reference}" is the start of the ids of several runs: ${candidates.join(', ')}${more}; give more of the id`,
        'reference',
        candidates,
      );
    },
  }),
}));
