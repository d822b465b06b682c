/**
 * Who may use each field. The rule is declared beside the field (`@Allow(roles)` or `@Public()`), kept in
 * the field's extensions, and enforced once per request, before anything runs, by walking the operation
 * (HTTP and WebSocket alike): every Query, Mutation and Subscription field must have a rule (the schema
 * build refuses one without); a nested field may add one of its own (e.g. Rater.displayName).
 */
import {
  getNamedType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { Extensions } from 'type-graphql';
import { ALL_ROLES, allows, describeRule, Role, type AccessRule, type Principal } from '../platform/context';
import { ForbiddenError, UnauthenticatedError } from '../platform/errors';

/** Reads: datasets, images, jobs, models, the catalog. */
export const READERS: readonly Role[] = [Role.ADMIN, Role.PIPELINE, Role.ANALYST];
/** Writes of data and jobs: what scripts do. */
export const PIPELINES: readonly Role[] = [Role.ADMIN, Role.PIPELINE];

export function Allow(...roles: Role[]) {
  if (roles.length === 0) throw new Error('@Allow needs at least one role (or use @Public())');
  return Extensions({ access: { roles } satisfies AccessRule });
}

export function Public() {
  return Extensions({ access: { public: true } satisfies AccessRule });
}

/** Any valid token, of any role. */
export function Authenticated() {
  return Allow(...ALL_ROLES);
}

/**
 * A mutation whose success is itself a durable record of who did what and when (a judgment row holds its
 * rater and receive time): its successes are not written to the audit log a second time; refusals and
 * failures are, as for every mutation.
 */
export function SelfRecorded() {
  return Extensions({ selfRecorded: true });
}

export function isSelfRecorded(field: GraphQLField<unknown, unknown> | undefined): boolean {
  return field?.extensions?.selfRecorded === true;
}

export function ruleOf(field: GraphQLField<unknown, unknown>): AccessRule | null {
  return (field.extensions?.access as AccessRule | undefined) ?? null;
}

export interface RootField {
  operation: 'query' | 'mutation' | 'subscription';
  name: string;
  rule: AccessRule | null;
}

export function rootFields(schema: GraphQLSchema): RootField[] {
  const roots = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ] as const;
  return roots.flatMap(([operation, type]) =>
    type ? Object.values(type.getFields()).map((field) => ({ operation, name: field.name, rule: ruleOf(field) })) : [],
  );
}

/** The schema build calls it: a root field without a rule is a mistake, not an open door. */
export function assertEveryRootFieldHasARule(schema: GraphQLSchema): void {
  const missing = rootFields(schema).filter((field) => field.rule === null);
  if (missing.length > 0) {
    const names = missing.map((field) => `${field.operation} ${field.name}`).join(', ');
    throw new Error(`no access rule for ${names}: add @Allow(...roles) or @Public() beside each (src/schema/guards.ts)`);
  }
}

/** A field of the operation the principal may not use. */
export interface Refusal {
  coordinate: string;
  rule: AccessRule;
}

/**
 * The first field of the operation (fragments included) the principal may not use, or null. Introspection
 * needs a token (of any role); __typename is open to all.
 */
export function refusedField(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, principal: Principal | null): Refusal | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: OperationDefinitionNode | null = null;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION && (!operationName || definition.name?.value === operationName)) operation ??= definition;
  }
  if (!operation) return null; // graphql reports a missing operation itself
  const root = schema.getRootType(operation.operation);
  if (!root) return null;
  const seen = new Set<string>();
  const authenticated: AccessRule = { roles: ALL_ROLES };

  const walk = (set: SelectionSetNode, type: GraphQLCompositeType): Refusal | null => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__typename') continue;
        if (name.startsWith('__')) {
          if (!allows(authenticated, principal)) return { coordinate: name, rule: authenticated };
          continue; // introspection types carry no data
        }
        if (!isObjectType(type) && !isInterfaceType(type)) continue;
        const field = type.getFields()[name];
        if (!field) continue; // validation reports unknown fields
        const rule = ruleOf(field);
        if (rule && !allows(rule, principal)) return { coordinate: `${type.name}.${name}`, rule };
        const fieldType = getNamedType(field.type);
        if (selection.selectionSet && isCompositeType(fieldType)) {
          const refusal = walk(selection.selectionSet, fieldType);
          if (refusal) return refusal;
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        if (condition && isCompositeType(condition)) {
          const refusal = walk(selection.selectionSet, condition);
          if (refusal) return refusal;
        }
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) continue;
        seen.add(fragment.name.value);
        const condition = schema.getType(fragment.typeCondition.name.value);
        if (condition && isCompositeType(condition)) {
          const refusal = walk(fragment.selectionSet, condition);
          if (refusal) return refusal;
        }
      }
    }
    return null;
  };
  return walk(operation.selectionSet, root);
}

/** Throws UNAUTHENTICATED (no token) or FORBIDDEN (a role that may not) for the first refused field. */
export function assertOperationAllowed(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, principal: Principal | null): void {
  const refusal = refusedField(schema, document, operationName, principal);
  if (!refusal) return;
  if (principal === null) throw new UnauthenticatedError(`${refusal.coordinate} needs a token: send "Authorization: Bearer <token>"`);
  throw new ForbiddenError(`${refusal.coordinate} is not allowed for role ${principal.role} (allowed: ${describeRule(refusal.rule)})`, {
    field: refusal.coordinate,
    allowed: 'roles' in refusal.rule ? refusal.rule.roles : [],
  });
}
