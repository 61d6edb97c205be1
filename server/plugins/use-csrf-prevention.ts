// Refuses the requests a web page on another site can make a browser send without asking the
// server first (CORS "simple requests": a GET, or a POST of a form or of text/plain), unless
// they carry a header such a page cannot set. Without this, any page a user opens could write
// to a Stackyard server on their machine, where local mode needs no token. JSON POSTs, which
// the client, the CLI and GraphiQL send, are never simple requests and pass unchanged.
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Plugin } from 'graphql-yoga';

/** Marks a GET or a form POST as sent by a program rather than by a page on another site. */
export const CSRF_HEADER = 'x-stackyard-csrf';

export function useCsrfPrevention(): Plugin {
  return useCSRFPrevention({ requestHeaders: [CSRF_HEADER] });
}
