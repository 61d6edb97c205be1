// Puts the operation being executed and its fragments into the context. The planner hands a
// field's `select` only its path, not its selection; run history pages (server/runs/run-page-sql.ts)
// read the selection there to build the page in SQL.
import { Kind, type DefinitionNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface ExecutedOperation {
  definition: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
}

export function useOperationInContext(): Plugin<{ operation?: ExecutedOperation }> {
  // Yoga caches parsed documents, so each distinct document is looked through once.
  const byDocument = new WeakMap<object, Map<string | undefined, ExecutedOperation | undefined>>();
  return {
    onExecute({ args }) {
      let operations = byDocument.get(args.document);
      if (!operations) byDocument.set(args.document, (operations = new Map()));
      const name = args.operationName ?? undefined;
      if (!operations.has(name)) {
        const definitions: readonly DefinitionNode[] = args.document.definitions;
        const candidates = definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
        const definition = name === undefined ? (candidates.length === 1 ? candidates[0] : undefined) : candidates.find((d) => d.name?.value === name);
        const fragments = Object.fromEntries(
          definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
        );
        operations.set(name, definition && { definition, fragments });
      }
      (args.contextValue as { operation?: ExecutedOperation }).operation = operations.get(name);
    },
  };
}
