import type { NextFunction, Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import { ImageError } from '../imaging/types';

/** An error with an HTTP status and the same codes as GraphQL errors' extensions.code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_BY_CODE: Record<string, number> = { BAD_USER_INPUT: 400, NOT_FOUND: 404 };

/** Last middleware of the plain HTTP routes: every failure is a JSON body {error: {code, message}}. */
export function jsonErrors(error: unknown, _request: Request, response: Response, _next: NextFunction): void {
  let status = 500;
  let code = 'INTERNAL_SERVER_ERROR';
  let message = 'internal error';
  if (error instanceof HttpError) {
    ({ status, code, message } = error);
  } else if (error instanceof GraphQLError) {
    code = String(error.extensions.code ?? code);
    status = STATUS_BY_CODE[code] ?? 400;
    message = error.message;
  } else if (error instanceof ImageError) {
    status = error.code === 'TOO_LARGE' ? 413 : 422;
    code = error.code;
    message = error.message;
  } else if ((error as { type?: string }).type === 'entity.too.large') {
    status = 413;
    code = 'PAYLOAD_TOO_LARGE';
    message = `upload larger than the limit of ${(error as { limit: number }).limit} bytes (MEDPSIM_MAX_UPLOAD_BYTES)`;
  } else {
    console.error('[http]', error);
  }
  if (!response.headersSent) response.status(status).json({ error: { code, message } });
}
