// Who is calling: the bearer token's user on a server with auth, or the implicit local admin
// in local mode. No token or a bad one gets 401 with WWW-Authenticate, as HTTP auth says
// (GraphiQL's page is not an operation and loads without one), and an address that keeps
// guessing gets 429 for a while.
import { createGraphQLError } from 'graphql-yoga';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { AuthUser } from '../context';
import type { Queryable } from '../db/database';
import type { Logger } from '../logger';
import { authenticateToken } from './user-service';

export type AuthMode = { kind: 'local'; localUser: AuthUser } | { kind: 'tokens' };

export interface AuthenticatorOptions {
  db: Queryable;
  mode: AuthMode;
  logger: Logger;
  /** Failed authentications one address may make per window before it is refused; default 20. */
  maxFailures?: number;
  /** The window, in seconds; default 60. */
  failureWindowSeconds?: number;
}

export type Authenticator = (request: Request, remoteAddress: string | undefined) => Promise<AuthUser>;

function unauthenticated(message: string) {
  return createGraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const failures = new RateLimiterMemory({ points: options.maxFailures ?? 20, duration: options.failureWindowSeconds ?? 60 });
  const { mode } = options;

  async function refuseIfBlocked(address: string): Promise<void> {
    const state = await failures.get(address);
    if (state && state.remainingPoints <= 0) throw tooManyFailures(state);
  }

  function tooManyFailures(state: RateLimiterRes) {
    const retryAfter = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
    return createGraphQLError(`Too many failed authentications; try again in ${retryAfter} s`, {
      extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'retry-after': String(retryAfter) } } },
    });
  }

  async function recordFailure(address: string, reason: string) {
    options.logger.warn({ remoteAddress: address, reason }, 'authentication failed');
    await failures.consume(address).catch((state: unknown) => {
      if (state instanceof RateLimiterRes) throw tooManyFailures(state);
      throw state;
    });
  }

  return async (request, remoteAddress) => {
    const header = request.headers.get('authorization');
    if (!header) {
      if (mode.kind === 'local') return mode.localUser;
      throw unauthenticated('Sign in: send an API token as "Authorization: Bearer <token>"');
    }
    const address = remoteAddress ?? 'unknown';
    await refuseIfBlocked(address);
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      await recordFailure(address, 'malformed authorization header');
      throw unauthenticated('The Authorization header must be "Bearer <token>"');
    }
    const check = await authenticateToken(options.db, match[1]);
    if ('failure' in check) {
      // Only unknown tokens are guesses; an expired or revoked one was real and is just refused.
      if (check.failure === 'unknown') await recordFailure(address, 'unknown token');
      throw unauthenticated(check.failure === 'unknown' ? 'The token is not valid' : check.failure === 'expired' ? 'The token has expired' : 'The token has been revoked');
    }
    return check.user;
  };
}
