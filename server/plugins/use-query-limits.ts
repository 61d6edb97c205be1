// Guards the server against queries built to exhaust it (deep nesting, alias bombs, huge
// documents, expensive fan-out) while leaving room for the nested connection queries a
// dashboard sends.
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, Lexer, parse, Source, TokenKind, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface QueryLimits {
  /** Deepest field nesting. Default 15: a stack page with runs, steps and outputs needs about 12. */
  maxDepth?: number;
  /** Aliased fields per operation. Default 30. */
  maxAliases?: number;
  /** Tokens per document. Default 5000. */
  maxTokens?: number;
  /**
   * Deepest nesting of brackets (`{`, `[`, `(`) in a document. Default 64: room for the depth
   * limit's 15 fields plus a JSON value of 32 levels.
   */
  maxNesting?: number;
  /** Estimated cost per operation (graphql-armor's static estimate: nesting multiplies). Default 20000. */
  maxCost?: number;
  /** Directives per operation. Default 50. */
  maxDirectives?: number;
}

// graphql-armor throws from inside validation by default, which yoga answers with a 200. Reported
// as validation errors instead, a refused document gets the 400 of any other invalid document.
const reportAsValidationError = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

export function useQueryLimits(limits: QueryLimits = {}): Plugin[] {
  return [
    maxDepthPlugin({ n: limits.maxDepth ?? 15, flattenFragments: true, ...reportAsValidationError }),
    // Aliases of __typename count too (graphql-armor allows them by default): a thousand cost as much as any field.
    maxAliasesPlugin({ n: limits.maxAliases ?? 30, allowList: [], ...reportAsValidationError }),
    useNestingAndTokenLimits(limits.maxTokens ?? 5000, limits.maxNesting ?? 64),
    // Fragments cost what their fields cost, as they count for depth: selecting a connection
    // through its result union (`... on QueryStacksConnection`) must not make it dearer.
    costLimitPlugin({ maxCost: limits.maxCost ?? 20000, flattenFragments: true, ...reportAsValidationError }),
    maxDirectivesPlugin({ n: limits.maxDirectives ?? 50, ...reportAsValidationError }),
    // Suggestions ("did you mean ...") reveal the schema to someone probing it.
    blockFieldSuggestionsPlugin(),
  ] as Plugin[];
}

const OPENING = new Set<string>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<string>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * Counts a document's tokens and bracket nesting before graphql's parser runs. The parser
 * recurses once per nesting level, and before the JIT has optimised it (the first requests to a
 * new process) its stack frames are large enough that a few thousand nested braces overflow the
 * call stack within the token limit: a RangeError and a 500. The lexer loops, so this check
 * cannot overflow, and once it passes the parser recurses at most `maxNesting` levels.
 */
function useNestingAndTokenLimits(maxTokens: number, maxNesting: number): Plugin {
  const refuse = (message: string) => new GraphQLError(`Syntax Error: ${message}`);
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        const lexer = new Lexer(typeof source === 'string' ? new Source(source) : source);
        let tokens = 0;
        let depth = 0;
        for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
          tokens += 1;
          if (tokens > maxTokens) throw refuse(`Token limit of ${maxTokens} exceeded.`);
          if (OPENING.has(token.kind)) depth += 1;
          else if (CLOSING.has(token.kind)) depth -= 1;
          if (depth > maxNesting) throw refuse(`Nesting limit of ${maxNesting} exceeded.`);
        }
        return parse(source, options);
      });
    },
    // Variables need no such check: the body parser reads JSON without recursing, coercion does
    // not walk into JSON scalars, and the jsonDepth plugin (server/json-depth-plugin.ts) refuses
    // a deep JSON argument, iteratively, with a ValidationError naming it before a resolver runs.
  };
}
