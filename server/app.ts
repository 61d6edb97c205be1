// The GraphQL application: the schema served by graphql-yoga with Stackyard's plugins.
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import type { RequestContext, ServerLimits } from './context';
import type { Database } from './db/database';
import type { Logger } from './logger';
import { useQueryLimits, type QueryLimits } from './plugins/use-query-limits';
import { useStatementCount, type RequestLogFields } from './plugins/use-statement-count';
import { schema } from './schema';

export interface AppOptions {
  db: Database;
  /** The user every request acts as, until auth exists. */
  localUserId: string;
  logger: Logger;
  limits: ServerLimits;
  queryLimits?: QueryLimits;
}

export type StackyardApp = YogaServerInstance<{ requestLog?: RequestLogFields }, RequestContext>;

export function createApp(options: AppOptions): StackyardApp {
  const { db, localUserId, logger, limits } = options;
  return createYoga<{ requestLog?: RequestLogFields }, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Stackyard' },
    // GraphiQL's assets are served from the package, so the page works without internet access.
    renderGraphiQL,
    logging: logger,
    context: () => ({ db, userId: localUserId, limits }),
    maskedErrors: {
      // The client gets "Unexpected error."; the server log gets the error and its cause.
      maskError(error, message) {
        const masked = maskError(error, message, false);
        if (masked !== error) {
          const original = (error as { originalError?: unknown }).originalError ?? error;
          logger.error({ err: original, path: (error as { path?: unknown }).path }, 'unexpected error in a resolver');
        }
        return masked;
      },
    },
    plugins: [...useQueryLimits(options.queryLimits), useStatementCount()],
  });
}
