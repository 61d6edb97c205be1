// Relay global ids in, database ids out, with a typed error for anything malformed.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { ValidationError } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The database id inside a global id of the given GraphQL type. */
export function databaseId(globalId: string | number, typename: string, field: string): string {
  let decoded: { typename: string; id: string } | undefined;
  try {
    decoded = decodeGlobalID(String(globalId));
  } catch {
    decoded = undefined;
  }
  if (!decoded || decoded.typename !== typename || !UUID.test(decoded.id)) {
    throw new ValidationError(`${field} is not the id of a ${typename}`, field);
  }
  return decoded.id.toLowerCase();
}
