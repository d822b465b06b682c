/**
 * POST /upload?dataset=NAME&filename=F[&split=train&label=NORMAL] with the file as the raw request body
 * (any content type). Answers 201 with the new image, or 200 with the existing one when the same bytes were
 * uploaded to that dataset before.
 */
import express, { type Request, type Response } from 'express';
import { importUpload } from '../datasets/service';
import { DATASET_SETTINGS } from '../datasets/settings';
import type { App } from '../platform/app';
import type { RequestContext } from '../platform/context';
import { badUserInput } from '../platform/errors';

function stringParam(request: Request, name: string, required: boolean): string | null {
  const raw = request.query[name];
  if (raw === undefined || raw === '') {
    if (required) throw badUserInput(name, `query parameter ${name} is required`);
    return null;
  }
  if (typeof raw !== 'string') throw badUserInput(name, `query parameter ${name} must be given once`);
  return raw;
}

export function uploadBody(app: App) {
  return [express.raw({ type: () => true, limit: app.settings(DATASET_SETTINGS).maxUploadBytes })];
}

export async function upload({ app }: RequestContext, request: Request, response: Response): Promise<void> {
  const bytes = request.body;
  if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw badUserInput('body', 'the request body (the file) is empty');
  const { image, created } = await importUpload(app, {
    datasetName: stringParam(request, 'dataset', true)!,
    fileName: stringParam(request, 'filename', false) ?? 'upload',
    split: stringParam(request, 'split', false),
    label: stringParam(request, 'label', false),
    bytes,
  });
  response.locals.affectedIds = [image.id, image.datasetId];
  response.status(created ? 201 : 200).json({ image });
}
