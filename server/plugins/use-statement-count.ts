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
      const context = args.contextValue as { request?: Request; requestLog?: RequestLogFields };
      // The operations of a batched request share the request's count: the header and the log
      // line give the statements of the whole request.
      let count = context.request && counts.get(context.request);
      if (!count) {
        count = { statements: 0 };
        if (context.request) counts.set(context.request, count);
      }
      const shared = count;
      setExecuteFn((executeArgs) => withStatementCount(shared, () => executeFn(executeArgs)));
      return {
        onExecuteDone() {
          if (context.requestLog) {
            const name = getOperationAST(args.document, args.operationName)?.name?.value;
            const previous = context.requestLog.operationName;
            context.requestLog.operationName = previous && name ? `${previous},${name}` : (name ?? previous);
            context.requestLog.statements = shared.statements;
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
