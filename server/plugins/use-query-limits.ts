// Guards the server against queries built to exhaust it (deep nesting, alias bombs, huge
// documents, expensive fan-out) while leaving room for the nested connection queries a
// dashboard sends.
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLError, ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface QueryLimits {
  /** Deepest field nesting. Default 15: a stack page with runs, steps and outputs needs about 12. */
  maxDepth?: number;
  /** Aliased fields per operation. Default 30. */
  maxAliases?: number;
  /** Tokens per document. Default 5000. */
  maxTokens?: number;
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
    maxAliasesPlugin({ n: limits.maxAliases ?? 30, ...reportAsValidationError }),
    maxTokensPlugin({ n: limits.maxTokens ?? 5000 }),
    costLimitPlugin({ maxCost: limits.maxCost ?? 20000, ...reportAsValidationError }),
    maxDirectivesPlugin({ n: limits.maxDirectives ?? 50, ...reportAsValidationError }),
    // Suggestions ("did you mean ...") reveal the schema to someone probing it.
    blockFieldSuggestionsPlugin(),
  ] as Plugin[];
}
