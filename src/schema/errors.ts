/** Typed GraphQL errors: clients switch on extensions.code; messages name the field and what is allowed. */
import { GraphQLError } from 'graphql';

/**
 * Input the client must change: a GraphQL error with code BAD_USER_INPUT that names the field (e.g.
 * "steps[1].params.sigma") and what is allowed. Domain modules throw it; the CLI prints its message.
 */
export class UserInputError extends GraphQLError {
  constructor(
    readonly field: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(`${field}: ${message}`, { extensions: { code: 'BAD_USER_INPUT', field, ...details } });
    this.name = 'UserInputError';
  }
}

export function badUserInput(field: string, message: string, details: Record<string, unknown> = {}): UserInputError {
  return new UserInputError(field, message, details);
}

export function outOfRange(field: string, value: number, min: number, max: number): GraphQLError {
  return badUserInput(field, `must be an integer in [${min}, ${max}], got ${value}`, { min, max, value });
}

export function notFound(what: string, id: string): GraphQLError {
  return new GraphQLError(`${what} ${id} not found`, { extensions: { code: 'NOT_FOUND', id } });
}

export function requireIntInRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(field, value, min, max);
  return value;
}

