/**
 * Query limits, so no client can ask for more work than the server is willing to do: a token limit (at
 * parse, MEDPSIM_MAX_QUERY_TOKENS), a depth limit, an alias limit, and a complexity limit: every list field
 * costs its page size (`first`, else `limit`, else 10) times its children, or what its `complexity` says.
 * The checks fail closed: a query whose cost cannot be worked out is refused, not run.
 */
import { getNullableType, GraphQLError, isListType, visit, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { badUserInput } from '../platform/errors';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';

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

/** Depth of the operation to run (fields nested in fields; fragments expanded; introspection not counted). */
export function queryDepth(document: DocumentNode, operationName?: string): number {
  const fragments: Record<string, FragmentDefinitionNode> = {};
  let deepest = 0;
  for (const definition of document.definitions) {
    if (definition.kind === 'FragmentDefinition') fragments[definition.name.value] = definition;
  }
  for (const definition of document.definitions) {
    if (definition.kind !== 'OperationDefinition') continue;
    if (operationName && definition.name?.value !== operationName) continue;
    deepest = Math.max(deepest, selectionDepth(definition.selectionSet, fragments, new Set()));
  }
  return deepest;
}

/**
 * Checked after validation, before execution, for HTTP requests (an Apollo plugin) and subscriptions
 * (graphql-ws onSubscribe) alike.
 */
export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
  maxAliases: number;
}

/** Fields written under an alias, fragments included (each counted once). */
export function aliasCount(document: DocumentNode): number {
  let aliases = 0;
  visit(document, { Field: (node) => void (node.alias && aliases++) });
  return aliases;
}

/** The multiplier of a list field: its page size, when it has one. */
const DEFAULT_LIST_SIZE = 10;

const listEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (!isListType(getNullableType(field.type))) return undefined;
  const size = Number(args.first ?? args.limit ?? DEFAULT_LIST_SIZE);
  return 1 + (Number.isFinite(size) && size > 0 ? size : DEFAULT_LIST_SIZE) * childComplexity;
};

export function assertQueryLimits(
  schema: GraphQLSchema,
  request: { document: DocumentNode; variables?: Record<string, unknown> | null; operationName?: string | null },
  limits: QueryLimits,
): void {
  const operationName = request.operationName ?? undefined;
  const depth = queryDepth(request.document, operationName);
  if (depth > limits.maxDepth) {
    throw new GraphQLError(`query depth ${depth} exceeds the limit of ${limits.maxDepth} (MEDPSIM_MAX_QUERY_DEPTH)`, {
      extensions: { code: 'QUERY_TOO_DEEP', depth, maxDepth: limits.maxDepth },
    });
  }
  const aliases = aliasCount(request.document);
  if (aliases > limits.maxAliases) {
    throw new GraphQLError(`the query has ${aliases} aliased fields, over the limit of ${limits.maxAliases} (MEDPSIM_MAX_QUERY_ALIASES)`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', aliases, maxAliases: limits.maxAliases },
    });
  }
  assertComplexity(schema, request.document, request.variables ?? {}, operationName, limits.maxComplexity);
}

function assertComplexity(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
  maxComplexity: number,
): void {
  let complexity: number;
  try {
    complexity = getComplexity({
      schema,
      query: document,
      variables,
      operationName,
      estimators: [fieldExtensionsEstimator(), listEstimator, simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (error) {
    // Fail closed: variables that do not fit the operation, or a document too large to estimate.
    const message = (error as Error).message;
    if (/variable/i.test(message)) throw new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
    throw new GraphQLError(`the query's cost cannot be estimated (${message}); send a smaller query`, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
  }
  if (complexity > maxComplexity) {
    throw new GraphQLError(
      `query complexity ${complexity} exceeds the limit of ${maxComplexity} (MEDPSIM_MAX_QUERY_COMPLEXITY); ask for smaller pages`,
      { extensions: { code: 'QUERY_TOO_COMPLEX', complexity, maxComplexity } },
    );
  }
}

/**
 * No text a client sends may hold a NUL character: PostgreSQL cannot store one, and nothing legitimate has
 * one. Checked for inline arguments and variables before execution (BAD_USER_INPUT naming the argument).
 */
export function assertNoNulStrings(document: DocumentNode, variables: Record<string, unknown> | null | undefined): void {
  const inVariables = findNul(variables ?? {}, '');
  if (inVariables !== null) throw badUserInput(`$${inVariables}`, 'must not contain NUL characters');
  visit(document, {
    Argument(node) {
      let found = false;
      visit(node.value, { StringValue: (value) => void (found ||= value.value.includes('\0')) });
      if (found) throw badUserInput(node.name.value, 'must not contain NUL characters');
    },
  });
}

function findNul(value: unknown, at: string): string | null {
  if (typeof value === 'string') return value.includes('\0') ? at : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findNul(item, `${at}[${index}]`);
      if (found !== null) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findNul(item, at ? `${at}.${key}` : key);
      if (found !== null) return found;
    }
  }
  return null;
}
