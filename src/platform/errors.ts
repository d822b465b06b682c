/**
 * Errors a client can act on, as plain errors with a machine-readable code: domain code throws them and
 * knows nothing of GraphQL or HTTP. At the API edge `extensions` becomes the GraphQL error's extensions
 * (graphql-js copies an original error's `extensions`) and the code picks the HTTP status of plain routes.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  /** What clients see beside the message: { code, ...details }. */
  get extensions(): Record<string, unknown> {
    return { code: this.code, ...this.details };
  }
}

/**
 * Input the client must change: code BAD_USER_INPUT, a message that names the field (e.g.
 * "steps[1].params.sigma") and what is allowed. The CLI prints its message.
 */
export class UserInputError extends AppError {
  constructor(
    readonly field: string,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super('BAD_USER_INPUT', `${field}: ${message}`, { field, ...details });
    this.name = 'UserInputError';
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', `${what} ${id.length <= 80 ? id : quoted(id)} not found`, { id: id.slice(0, 80) });
    this.name = 'NotFoundError';
  }
}

/** No credentials, or credentials that do not hold (unknown, expired, revoked: one message for all). */
export class UnauthenticatedError extends AppError {
  constructor(message = 'missing or invalid token: send "Authorization: Bearer <token>"') {
    super('UNAUTHENTICATED', message);
    this.name = 'UnauthenticatedError';
  }
}

/** Valid credentials whose role may not do this. */
export class ForbiddenError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('FORBIDDEN', message, details);
    this.name = 'ForbiddenError';
  }
}

export function badUserInput(field: string, message: string, details: Record<string, unknown> = {}): UserInputError {
  return new UserInputError(field, message, details);
}

export function outOfRange(field: string, value: number, min: number, max: number): UserInputError {
  return badUserInput(field, `must be an integer in [${min}, ${max}], got ${value}`, { min, max, value });
}

export function notFound(what: string, id: string): NotFoundError {
  return new NotFoundError(what, id);
}

export function requireIntInRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(field, value, min, max);
  return value;
}

/** A value echoed in a message, cut to 80 characters (a client may send megabytes). */
export function quoted(value: unknown): string {
  const text = String(value);
  return text.length <= 80 ? `"${text}"` : `"${text.slice(0, 80)}…" (${text.length} characters)`;
}

/**
 * A text a client gives to be stored (a name, a label): trimmed, `min` to `max` characters, no NUL and, unless
 * multiline, no control characters at all.
 */
export function checkText(field: string, value: string, max: number, options: { min?: number; multiline?: boolean } = {}): string {
  const text = String(value).trim();
  const min = options.min ?? 1;
  if (text.length < min || text.length > max) throw badUserInput(field, `must be ${min} to ${max} characters, got ${text.length}`, { min, max });
  const control = options.multiline ? /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/;
  if (control.test(text)) throw badUserInput(field, options.multiline ? 'must not contain NUL or other control characters' : 'must be one line, without control characters');
  return text;
}

/** checkText for an optional value: null, undefined and blank are null. */
export function checkOptionalText(field: string, value: string | null | undefined, max: number, options: { multiline?: boolean } = {}): string | null {
  if (value === null || value === undefined || String(value).trim() === '') return null;
  return checkText(field, value, max, options);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function assertUuid(field: string, value: string): string {
  if (!UUID.test(value)) throw badUserInput(field, `must be a UUID, got ${quoted(value)}`);
  return value;
}

/** HTTP status for a code (plain routes; GraphQL errors keep 200 unless they are about access). */
export function httpStatusOf(code: string): number {
  switch (code) {
    case 'BAD_USER_INPUT':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'TOO_MANY_REQUESTS':
      return 429;
    case 'TOO_BUSY':
      return 503;
    default:
      return 400;
  }
}
