// Refuses a request body that is not valid UTF-8 with a 400 before it is parsed. JSON and
// GraphQL documents are UTF-8 text (RFC 8259, GraphQL over HTTP), and the parsers would quietly
// turn each invalid byte (FF, an overlong C0 AF, a truncated sequence) into U+FFFD: the server
// would store and answer text the client never sent. Checked as the body streams in.
import { createGraphQLError, type Plugin } from 'graphql-yoga';

function notUtf8() {
  return createGraphQLError('The request body is not valid UTF-8.', {
    extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
  });
}

export function useUtf8Body(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser((received) => {
        if (!received.body) return parse(received);
        const decoder = new TextDecoder('utf-8', { fatal: true });
        // As yoga's body size limit does: a native stream needs the native TransformStream.
        const TransformStreamCtor = received.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        const checked = received.body.pipeThrough(
          new TransformStreamCtor<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              try {
                decoder.decode(chunk, { stream: true });
                controller.enqueue(chunk);
              } catch {
                controller.error(notUtf8());
              }
            },
            flush(controller) {
              try {
                decoder.decode(); // a sequence cut off at the end
              } catch {
                controller.error(notUtf8());
              }
            },
          }),
        );
        return parse(new fetchAPI.Request(received.url, { method: received.method, headers: received.headers, signal: received.signal, body: checked, duplex: 'half' } as RequestInit));
      });
    },
  };
}
