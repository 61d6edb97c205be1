// Retries of reporting calls answer what the first call stored, but only when they carry the
// same arguments: a retry that differs is a caller's bug, refused as payment APIs refuse it.
import { IdempotencyConflictError } from '../errors';

/** JSON with object keys sorted, so values equal as jsonb are equal as text. */
function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : item,
  );
}

/**
 * Throws an IdempotencyConflictError naming the first field of `retry` whose value differs from
 * the one the repeated call stored. `fieldPrefix` places the fields within the input
 * (`outputs.0.`).
 */
export function assertSameArguments(stored: Record<string, unknown>, retry: Record<string, unknown>, fieldPrefix = ''): void {
  for (const [field, value] of Object.entries(retry)) {
    if (canonical(stored[field]) !== canonical(value)) {
      const path = `${fieldPrefix}${field}`;
      throw new IdempotencyConflictError(`${path} differs from the call this one repeats; a retry must carry the same arguments`, path);
    }
  }
}
