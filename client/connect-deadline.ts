// A connect timeout for fetch. Node's fetch (undici) waits 10 s for a connection, and the
// client retries: a server address that drops packets (a VPN gone, a firewall) would leave a
// command hanging for half a minute. undici reports each connection attempt on Node's
// diagnostics channels; an attempt still unanswered after the deadline aborts the requests
// waiting for that host, with an error the client does not retry.
import { subscribe } from 'node:diagnostics_channel';

/** No connection to the server within the deadline; not a TypeError, so the client does not retry it. */
export class ConnectTimeoutError extends Error {
  override readonly name = 'ConnectTimeoutError';
}

interface Waiting {
  controller: AbortController;
  timeoutMs: number;
}

/** Requests in flight by host (`hostname:port`, as undici names it), and each host's pending connection attempts. */
const waiting = new Map<string, Set<Waiting>>();
const attempts = new Map<string, NodeJS.Timeout[]>();
let subscribed = false;

type ConnectMessage = { connectParams: { host: string } };

function watchConnections(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('undici:client:beforeConnect', (message) => {
    const { host } = (message as ConnectMessage).connectParams;
    const requests = [...(waiting.get(host) ?? [])];
    if (requests.length === 0) return;
    const timeoutMs = Math.min(...requests.map((request) => request.timeoutMs));
    const timer = setTimeout(() => {
      for (const request of waiting.get(host) ?? []) request.controller.abort(new ConnectTimeoutError(`no connection within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    timer.unref();
    attempts.set(host, [...(attempts.get(host) ?? []), timer]);
  });
  const settled = (message: unknown) => clearTimeout(attempts.get((message as ConnectMessage).connectParams.host)?.shift());
  subscribe('undici:client:connected', settled);
  subscribe('undici:client:connectError', settled);
}

/** A fetch whose requests fail with ConnectTimeoutError when no connection to their host opens within `timeoutMs`. */
export function fetchWithConnectDeadline(timeoutMs: number, baseFetch: typeof fetch = fetch): typeof fetch {
  watchConnections();
  return async (input, init) => {
    const host = new URL(input instanceof Request ? input.url : String(input)).host;
    const controller = new AbortController();
    const callerSignal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    callerSignal?.addEventListener('abort', () => controller.abort(callerSignal.reason), { once: true });
    const request = { controller, timeoutMs };
    waiting.set(host, (waiting.get(host) ?? new Set()).add(request));
    try {
      return await baseFetch(input, { ...init, signal: controller.signal });
    } finally {
      waiting.get(host)?.delete(request);
    }
  };
}
