// A connect timeout for fetch. Node's fetch has none of its own: a server address that drops
// packets (a VPN gone, a firewall) leaves a command hanging for minutes before the operating
// system gives up. A plain TCP connection to the same host and port, opened beside the first
// request, tells within the deadline whether anything listens there; the request itself is not
// delayed, and is aborted when that connection fails.
import { connect } from 'node:net';

/** Thrown when nothing accepts a connection in time; not a TypeError, so the client does not retry it. */
export class ConnectTimeoutError extends Error {
  override readonly name = 'ConnectTimeoutError';
}

function probe(url: URL, timeoutMs: number): Promise<void> {
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new ConnectTimeoutError(`no connection within ${timeoutMs / 1000} s`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => reject(new ConnectTimeoutError(error.code ?? error.message)));
  });
}

/** A fetch whose requests fail within `timeoutMs` when no connection to their host can be opened. */
export function fetchWithConnectDeadline(timeoutMs: number, baseFetch: typeof fetch = fetch): typeof fetch {
  const reachable = new Map<string, Promise<void>>();
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    let listening = reachable.get(url.host);
    if (!listening) {
      listening = probe(url, timeoutMs);
      reachable.set(url.host, listening);
    }
    const controller = new AbortController();
    const callerSignal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    callerSignal?.addEventListener('abort', () => controller.abort(callerSignal.reason), { once: true });
    const response = baseFetch(input, { ...init, signal: controller.signal });
    // Settled by whichever comes first: the response, or the probe failing (which aborts the request).
    const refused = listening.then(
      () => response,
      (error: unknown) => {
        controller.abort(error);
        throw error;
      },
    );
    return Promise.race([response, refused]);
  };
}
