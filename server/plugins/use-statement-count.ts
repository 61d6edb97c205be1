// Counts the SQL statements each GraphQL execution sends and reports them in the
// `x-sql-statements` response header and the request log. It is how tests and benchmarks hold
// the query planner to "one statement per request" instead of trusting it.
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { withStatementCount, type StatementCount } from '../db/statement-count';

/** Filled in by the execution for the HTTP layer's request log line. */
export interface RequestLogFields {
  operationName?: string;
  statements?: number;
}

export function useStatementCount(): Plugin<{ requestLog?: RequestLogFields }> {
  const counts = new WeakMap<Request, StatementCount>();
  return {
    onExecute({ args, setExecuteFn, executeFn }) {
      const count: StatementCount = { statements: 0 };
      const context = args.contextValue as { request?: Request; requestLog?: RequestLogFields };
      if (context.request) counts.set(context.request, count);
      setExecuteFn((executeArgs) => withStatementCount(count, () => executeFn(executeArgs)));
      return {
        onExecuteDone() {
          if (context.requestLog) {
            context.requestLog.operationName = getOperationAST(args.document, args.operationName)?.name?.value;
            context.requestLog.statements = count.statements;
          }
        },
      };
    },
    onResponse({ request, response }) {
      const count = counts.get(request);
      if (count) response.headers.set('x-sql-statements', String(count.statements));
    },
  };
}
