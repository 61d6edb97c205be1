// GraphQL over HTTP compliance (https://graphql.github.io/graphql-over-http/), checked with the
// audits of graphql-http. They test the HTTP layer, not the database, so they run on PGlite only.
// Every MUST audit has to pass; SHOULD and MAY audits run too, and what they answer is only
// recorded (see the summary printed after the file).
import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../server/plugins/use-csrf-prevention';
import { startTestServer, type TestServer } from './harness';

/** fetch as a program sends it: the audits' GETs carry the header CSRF prevention asks of them. */
const programFetch: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set(CSRF_HEADER, '1');
  return fetch(input, { ...init, headers });
};

describe('GraphQL over HTTP audits', () => {
  let server: TestServer | undefined;
  const recommendations: AuditResult[] = [];

  beforeAll(async () => {
    server = await startTestServer({ name: 'pglite' });
  });
  afterAll(async () => {
    await server?.close();
    const missed = recommendations.filter((result) => result.status !== 'ok');
    if (missed.length > 0) {
      console.info(
        `GraphQL over HTTP: ${missed.length} SHOULD/MAY audit(s) not met:\n` +
          missed.map((result) => `  [${result.status}] ${result.name}: ${'reason' in result ? result.reason : ''}`).join('\n'),
      );
    }
  });

  // The tests are collected before beforeAll starts the server, so the URL is read lazily.
  const audits = serverAudits({
    url: () => {
      if (!server) throw new Error('the test server is not running');
      return `${server.url}/graphql`;
    },
    fetchFn: programFetch,
  });

  it('has MUST audits to run', () => {
    // Guards against an upgrade of graphql-http that renames levels and silently skips them all.
    expect(audits.filter((audit) => audit.name.startsWith('MUST')).length).toBeGreaterThan(10);
  });

  for (const audit of audits) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      if (audit.name.startsWith('MUST')) {
        const reason = result.status === 'ok' ? '' : result.reason;
        expect(result.status, `${audit.name} failed: ${reason}`).toBe('ok');
      } else {
        recommendations.push(result);
        // Only recorded: but the result has to belong to this audit, or the audit did not run.
        expect(result.id).toBe(audit.id);
      }
    });
  }
});
