/**
 * Query limits, so no client can ask for more work than the server is willing to do:
 * a depth limit (a validation rule) and a complexity limit (list fields cost their page size times their
 * children, from the `complexity` of type-graphql fields).
 */
import {
  GraphQLError,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';

function selectionDepth(
  set: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
  visiting: Set<string>,
): number {
  if (!set) return 0;
  let deepest = 0;
  for (const selection of set.selections) {
    if (selection.kind === 'Field') {
      if (selection.name.value.startsWith('__')) continue; // introspection is bounded by the schema
      deepest = Math.max(deepest, selection.selectionSet ? 1 + selectionDepth(selection.selectionSet, fragments, visiting) : 1);
    } else if (selection.kind === 'InlineFragment') {
      deepest = Math.max(deepest, selectionDepth(selection.selectionSet, fragments, visiting));
    } else {
      const name = selection.name.value;
      if (visiting.has(name) || !fragments[name]) continue; // cycles are reported by graphql's own rule
      visiting.add(name);
      deepest = Math.max(deepest, selectionDepth(fragments[name].selectionSet, fragments, visiting));
      visiting.delete(name);
    }
  }
  return deepest;
}

export function depthLimitRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => {
    const document = context.getDocument();
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const definition of document.definitions) {
      if (definition.kind === 'FragmentDefinition') fragments[definition.name.value] = definition;
    }
    return {
      OperationDefinition(operation) {
        const depth = selectionDepth(operation.selectionSet, fragments, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`query depth ${depth} exceeds the limit of ${maxDepth} (MEDPSIM_MAX_QUERY_DEPTH)`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_DEEP', depth, maxDepth },
            }),
          );
        }
      },
    };
  };
}

export function assertComplexity(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
  maxComplexity: number,
): void {
  const complexity = getComplexity({
    schema,
    query: document,
    variables,
    operationName,
    estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
  });
  if (complexity > maxComplexity) {
    throw new GraphQLError(
      `query complexity ${complexity} exceeds the limit of ${maxComplexity} (MEDPSIM_MAX_QUERY_COMPLEXITY); ask for smaller pages`,
      { extensions: { code: 'QUERY_TOO_COMPLEX', complexity, maxComplexity } },
    );
  }
}
