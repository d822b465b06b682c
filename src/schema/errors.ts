/** Typed GraphQL errors: clients switch on extensions.code; messages name the field and what is allowed. */
import { GraphQLError } from 'graphql';

export function badUserInput(field: string, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(`${field}: ${message}`, {
    extensions: { code: 'BAD_USER_INPUT', field, ...extra },
  });
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

/** Domain errors that name a field (distortion specs) become BAD_USER_INPUT with that field. */
export async function asUserInputErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const named = error as { field?: unknown; details?: Record<string, unknown> };
    if (error instanceof Error && error.name === 'SpecError' && typeof named.field === 'string') {
      throw new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', field: named.field, ...named.details } });
    }
    throw error;
  }
}
