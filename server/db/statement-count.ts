// Counts the SQL statements one GraphQL execution sends, so a request can report them
// (response header and request log) and tests can hold the planner to one statement.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface StatementCount {
  statements: number;
}

const storage = new AsyncLocalStorage<StatementCount>();

export function withStatementCount<T>(count: StatementCount, run: () => T): T {
  return storage.run(count, run);
}

export function countStatement(): void {
  const count = storage.getStore();
  if (count) count.statements += 1;
}
