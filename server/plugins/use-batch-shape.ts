// A request whose body is a JSON array is a batch of operations (app.ts). Each item has to be an
// operation, an object, and the batch has to hold one at least: graphql-yoga would answer an
// empty array to an empty batch, and an internal error to an item that is not an object.
import { createGraphQLError, type Plugin } from 'graphql-yoga';

function refused(message: string) {
  return createGraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
}

export function useBatchShape(): Plugin {
  return {
    onRequestParse() {
      return {
        onRequestParseDone({ requestParserResult }) {
          if (!Array.isArray(requestParserResult)) return;
          if (requestParserResult.length === 0) throw refused('The request is an empty batch: a JSON array body holds one operation at least');
          const index = requestParserResult.findIndex((item: unknown) => item === null || typeof item !== 'object' || Array.isArray(item));
          if (index >= 0) {
            throw refused(`Item ${index} of the batch is not an operation: each is an object with query (or a persisted id), variables and operationName`);
          }
        },
      };
    },
  };
}
