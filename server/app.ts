// The GraphQL application: the schema served by graphql-yoga with Stackyard's plugins.
import { createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import type { AuthUser, RequestContext, ServerLimits } from './context';
import type { Database } from './db/database';
import type { Logger } from './logger';
import type { RunUpdates } from './runs/run-events';
import type { Authenticator } from './users/authentication';
import { useBatchShape } from './plugins/use-batch-shape';
import { useCsrfPrevention } from './plugins/use-csrf-prevention';
import { useNoNulCharacters } from './plugins/use-no-nul-characters';
import { useOperationInContext } from './plugins/use-operation-in-context';
import { usePageResponses } from './runs/run-page-response';
import { usePersistedOperations } from './plugins/use-persisted-operations';
import { useQueryLimits, type QueryLimits } from './plugins/use-query-limits';
import { useStatementCount, type RequestLogFields } from './plugins/use-statement-count';
import { useUtf8Body } from './plugins/use-utf8-body';
import { schema } from './schema';

export interface AppOptions {
  db: Database;
  /** Answers the caller of each request, or refuses it. */
  authenticate: Authenticator;
  /** Encrypts component secrets at rest. */
  secretKey: Buffer;
  runUpdates: RunUpdates;
  logger: Logger;
  limits: ServerLimits;
  queryLimits?: QueryLimits;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Run only the operations of client/generated/persisted-documents.json. Default false. */
  persistedOperationsOnly?: boolean;
}

/** What the HTTP server hands yoga with each request. */
export interface ServerContext {
  requestLog?: RequestLogFields;
  /** The client's address, to rate-limit failed authentication. */
  remoteAddress?: string;
}

/** Yoga's own default is 25 MB; Stackyard's largest requests (a stack's YAML, 100 outputs) are far smaller. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Operations one batched request may carry: enough for a worker's concurrent step reports. */
export const MAX_BATCHED_OPERATIONS = 16;

export type StackyardApp = YogaServerInstance<ServerContext, RequestContext>;

export function createApp(options: AppOptions): StackyardApp {
  const { db, authenticate, secretKey, runUpdates, logger, limits } = options;
  const callers = new WeakMap<Request, Promise<AuthUser>>();
  return createYoga<ServerContext, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Stackyard' },
    // GraphiQL's assets are served from the package, so the page works without internet access.
    // Loaded on the first visit: most starts never serve GraphiQL, and it is slow to import.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    logging: logger,
    // Checked before parsing, against Content-Length and as a chunked body streams in.
    maxRequestBodySize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    // A body that is a JSON array carries several operations, each executed and answered as if
    // sent alone, in one array: a worker running many steps reports them in one request.
    batching: { limit: limits.maxBatchedOperations },
    context: async ({ request, remoteAddress }) => {
      // Each operation of a batched request gets its own context; the caller is authenticated
      // once per request, and a bad token counts once against the address.
      let caller = callers.get(request);
      if (!caller) callers.set(request, (caller = authenticate(request, remoteAddress)));
      return { db, user: await caller, secretKey, runUpdates, limits };
    },
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
    // Not graphql-jit, measured in its place: a fifth less CPU per history page, but Pothos'
    // selection mapper finds a parent's plan by the identity of info.path objects, which
    // graphql-jit makes afresh, so nested relations took extra statements (test/query-plan.test.ts),
    // and a variable of the wrong type came back as 200 with errors instead of a 400.
    plugins: [
      useCsrfPrevention(),
      useUtf8Body(),
      useBatchShape(),
      usePersistedOperations({ only: options.persistedOperationsOnly }),
      useNoNulCharacters(),
      ...useQueryLimits(options.queryLimits),
      useStatementCount(),
      useOperationInContext(),
      // After useOperationInContext: it reads the operation as sent.
      usePageResponses(),
    ],
  });
}
