// Cross-site request forgery: the requests a page on another site can make a browser send
// without asking the server first are refused unless they carry the CSRF header; the JSON
// POSTs of the client, the CLI and GraphiQL pass. The cases are data: what a browser would send.
import { describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../server/plugins/use-csrf-prevention';
import { uniqueName, useTestServer } from './harness';

const stackName = uniqueName('csrf');
const mutation = `mutation { registerStack(name: "${stackName}", components: { orchestrator: "default", artifactStore: "default" }) { __typename } }`;
const query = '{ activeStack { name } }';

function multipart(): FormData {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: mutation }));
  form.set('map', '{}');
  return form;
}

const refused: { id: string; sentence: string; init: () => RequestInit; path?: string }[] = [
  {
    id: 'form-post',
    sentence: 'a form POST (application/x-www-form-urlencoded)',
    init: () => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: mutation }).toString() }),
  },
  { id: 'multipart-post', sentence: 'a multipart form POST', init: () => ({ method: 'POST', body: multipart() }) },
  {
    id: 'text-plain-post',
    sentence: 'a text/plain POST whose body is JSON',
    init: () => ({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: mutation }) }),
  },
  {
    id: 'no-content-type-post',
    sentence: 'a POST without a content type',
    init: () => ({ method: 'POST', body: new Blob([JSON.stringify({ query: mutation })]) }),
  },
  { id: 'plain-get', sentence: 'a GET without the header', path: `?query=${encodeURIComponent(query)}`, init: () => ({ method: 'GET' }) },
];

describe('CSRF prevention', () => {
  const server = useTestServer({ name: 'pglite' });
  const send = (path: string, init: RequestInit) => fetch(`${server().url}/graphql${path}`, init);

  for (const { id, sentence, init, path } of refused) {
    it(`${id}: refuses ${sentence} with 403`, async () => {
      const response = await send(path ?? '', init());
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ errors: [{ message: 'Required CSRF header(s) not present' }] });
    });
  }

  it('ran none of the refused mutations', async () => {
    expect(await server().gql(`{ stack(name: "${stackName}") { name } }`)).toEqual({ stack: null });
  });

  it(`accepts a GET that carries ${CSRF_HEADER}`, async () => {
    const response = await send(`?query=${encodeURIComponent(query)}`, { headers: { [CSRF_HEADER]: '1' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { activeStack: { name: 'default' } } });
  });

  it('accepts a JSON POST without the header, as the client and GraphiQL send it', async () => {
    const response = await send('', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    expect(response.status).toBe(200);
  });

  it('still serves the GraphiQL page to a browser', async () => {
    const response = await send('', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
  });
});
