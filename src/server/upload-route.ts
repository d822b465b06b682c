/**
 * POST /upload?dataset=NAME&filename=F[&split=train&label=NORMAL] with the file as the raw request body
 * (any content type). Answers 201 with the new image, or 200 with the existing one when the same bytes were
 * uploaded to that dataset before.
 */
import express, { type Request, type Response } from 'express';
import type { App } from '../app';
import { importUpload } from '../datasets/service';
import { HttpError } from './http-error';

function stringParam(request: Request, name: string, required: boolean): string | null {
  const raw = request.query[name];
  if (raw === undefined || raw === '') {
    if (required) throw new HttpError(400, 'BAD_USER_INPUT', `query parameter ${name} is required`);
    return null;
  }
  if (typeof raw !== 'string') throw new HttpError(400, 'BAD_USER_INPUT', `query parameter ${name} must be given once`);
  return raw;
}

export function uploadRoutes(app: App) {
  const body = express.raw({ type: () => true, limit: app.config.maxUploadBytes });
  const handler = async (request: Request, response: Response): Promise<void> => {
    const bytes = request.body;
    if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw new HttpError(400, 'BAD_USER_INPUT', 'the request body (the file) is empty');
    const { image, created } = await importUpload(app, {
      datasetName: stringParam(request, 'dataset', true)!,
      fileName: stringParam(request, 'filename', false) ?? 'upload',
      split: stringParam(request, 'split', false),
      label: stringParam(request, 'label', false),
      bytes,
    });
    response.status(created ? 201 : 200).json({ image });
  };
  return [body, handler] as const;
}
