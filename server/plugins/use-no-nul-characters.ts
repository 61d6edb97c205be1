// Refuses a request with the NUL character (U+0000) in any variable or string literal. Postgres
// stores it in neither text nor jsonb, so a name, label, setting or message holding it could
// only end in an internal error; no Stackyard input needs it. One check here covers every field.
import { GraphQLError, type StringValueNode, type ValidationContext } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

const NUL = '\u0000';
const RULE = 'which no text sent to Stackyard may contain';

/** The dotted path of the first string or key in `value` that holds NUL, if one does. */
function pathWithNul(value: unknown, root: string): string | undefined {
  // A list, not recursion: variables can nest deeper than the call stack goes.
  const pending: [unknown, string][] = [[value, root]];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const [current, path] = item;
    if (typeof current === 'string' && current.includes(NUL)) return path;
    if (current === null || typeof current !== 'object') continue;
    for (const [key, child] of Object.entries(current)) {
      if (key.includes(NUL)) return path;
      pending.push([child, `${path}.${key}`]);
    }
  }
  return undefined;
}

export function useNoNulCharacters(): Plugin {
  return {
    onParams({ params }) {
      const path = pathWithNul(params.variables, 'variables');
      if (path === undefined) return;
      throw createGraphQLError(`${path} contains the NUL character (U+0000), ${RULE}.`, {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      });
    },
    onValidate({ addValidationRule }) {
      addValidationRule((context: ValidationContext) => ({
        StringValue(node: StringValueNode) {
          if (node.value.includes(NUL)) context.reportError(new GraphQLError(`A string in the document contains the NUL character (U+0000), ${RULE}.`, { nodes: node }));
        },
      }));
    },
  };
}
