// Which waiting steps a remote orchestrator's workers take first, as Dagster's run and step
// priorities do: higher goes first, 0 by default, and a step's priority adds to its run's.
// The local orchestrator runs every ready step at once, so there it changes nothing.

/** Each of a run's and a step's priority lies within ±this. */
export const MAX_PRIORITY = 1000;

/** Throws, saying what was given, unless `value` is absent or an integer within ±MAX_PRIORITY. */
export function checkPriority(value: unknown, what: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > MAX_PRIORITY) {
    throw new RangeError(`${what}: priority must be an integer from -${MAX_PRIORITY} to ${MAX_PRIORITY} (higher runs first), not ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value))}`);
  }
}

/** A step's priority in its run: the run's plus the step's own. */
export function stepPriority(runPriority: number | undefined, ownPriority: number | undefined): number {
  return (runPriority ?? 0) + (ownPriority ?? 0);
}
