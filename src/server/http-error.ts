import type { NextFunction, Request, Response } from 'express';
import { ImageError } from '../imaging/types';
import { AppError, httpStatusOf } from '../platform/errors';

/** Last middleware of the plain HTTP routes: every failure is a JSON body {error: {code, message}}. */
export function jsonErrors(error: unknown, _request: Request, response: Response, _next: NextFunction): void {
  const { status, code, message, details } = describeHttpError(error);
  if (!response.headersSent) response.status(status).json({ error: { code, message, ...details } });
}

export function describeHttpError(error: unknown): { status: number; code: string; message: string; details: Record<string, unknown> } {
  if (error instanceof AppError) return { status: httpStatusOf(error.code), code: error.code, message: error.message, details: error.details };
  if (error instanceof ImageError) return { status: error.code === 'TOO_LARGE' ? 413 : 422, code: error.code, message: error.message, details: {} };
  if ((error as { type?: string }).type === 'entity.parse.failed') {
    return { status: 400, code: 'BAD_REQUEST', message: 'the request body is not valid JSON', details: {} };
  }
  if ((error as { type?: string }).type === 'entity.too.large') {
    const message = `upload larger than the limit of ${(error as { limit: number }).limit} bytes (MEDPSIM_MAX_UPLOAD_BYTES)`;
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', message, details: {} };
  }
  console.error('[http]', error);
  return { status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'internal error', details: {} };
}
