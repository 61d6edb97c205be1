// Request bodies over the limit are refused with 413 before anything parses them: a declared
// Content-Length over it, and a chunked body that keeps growing, which must be answered while
// the client is still sending rather than read to its end.
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useTestServer } from './harness';

const LIMIT = 64 * 1024;
// Far more than the server could be expected to hold: a server that reads the whole body first
// never answers before the client has sent this much.
const GIVE_UP_BYTES = 256 * 1024 * 1024;

interface StreamedAnswer {
  status: number;
  body: string;
  /** Whether the client had ended its body before the answer came. */
  endedFirst: boolean;
}

/** POSTs a chunked body that grows until the server answers, or until GIVE_UP_BYTES. */
function streamUntilAnswered(url: string): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    let endedFirst = false;
    let sent = 0;
    const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (!request.destroyed) {
        if (sent >= GIVE_UP_BYTES) {
          endedFirst = true;
          request.end();
          return;
        }
        sent += chunk.length;
        if (!request.write(chunk)) return void request.once('drain', pump);
      }
    };
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (text: string) => (body += text));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body, endedFirst });
      });
    });
    request.on('error', reject);
    request.write('{"query":"{ __typename }","variables":{"padding":"');
    pump();
  });
}

/** POSTs a body in chunks without declaring its length. */
function postChunked(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (part: string) => (text += part));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    for (let start = 0; start < body.length; start += 8192) request.write(body.slice(start, start + 8192));
    request.end();
  });
}

const paddedQuery = (bytes: number) => {
  const envelope = JSON.stringify({ query: '{ __typename }', variables: { padding: '' } });
  return JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(bytes - envelope.length) } });
};

const tooLarge = { errors: [{ message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }] };

describe('request body limit', () => {
  const server = useTestServer({ name: 'pglite' }, { maxBodyBytes: LIMIT });
  const endpoint = () => `${server().url}/graphql`;
  const post = (body: string) => fetch(endpoint(), { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('refuses a body whose Content-Length is over the limit with 413 and a GraphQL error', async () => {
    const response = await post(paddedQuery(LIMIT + 1));
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual(tooLarge);
  });

  it('accepts a body of exactly the limit', async () => {
    const response = await post(paddedQuery(LIMIT));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('accepts a chunked body under the limit', async () => {
    const response = await postChunked(endpoint(), paddedQuery(LIMIT));
    expect(response).toEqual({ status: 200, body: JSON.stringify({ data: { __typename: 'Query' } }) });
  });

  it('refuses a chunked body over the limit', async () => {
    const response = await postChunked(endpoint(), paddedQuery(LIMIT + 1));
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual(tooLarge);
  });

  it('answers a chunked body that never ends with 413 while the client is still sending', async () => {
    const answer = await streamUntilAnswered(endpoint());
    expect(answer.endedFirst).toBe(false);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual(tooLarge);
  });

  it('goes on serving after refusing bodies', async () => {
    expect(await server().gql('{ activeStack { name } }')).toEqual({ activeStack: { name: 'default' } });
  });
});
