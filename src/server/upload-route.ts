/**
 * POST /upload?dataset=NAME&filename=F[&path=REL][&split=train&label=NORMAL][&update=true] with the file as
 * the raw request body, sent as application/octet-stream, image/* or application/dicom: the content types a
 * page on another origin cannot send without a CORS preflight (text/plain, forms and multipart are refused),
 * besides the bearer token, which browsers never attach by themselves. Answers 201 with the new image, or
 * 200 with the existing one and what differs from it (its split and label change only with update=true).
 */
import express, { type Request, type Response } from 'express';
import { importUpload } from '../datasets/service';
import { DATASET_SETTINGS } from '../datasets/settings';
import type { App } from '../platform/app';
import type { RequestContext } from '../platform/context';
import type { RouteAnswer } from '../platform/module';
import { AppError, badUserInput, quoted } from '../platform/errors';

function stringParam(request: Request, name: string, required: boolean): string | null {
  const raw = request.query[name];
  if (raw === undefined || raw === '') {
    if (required) throw badUserInput(name, `query parameter ${name} is required`);
    return null;
  }
  if (typeof raw !== 'string') throw badUserInput(name, `query parameter ${name} must be given once`);
  if (raw.includes('\0')) throw badUserInput(name, 'must not contain NUL characters');
  return raw;
}

const UPLOAD_TYPES = /^(application\/octet-stream|application\/dicom|image\/[\w.+-]+)$/i;

function requireUploadType(request: Request, _response: Response, next: (error?: unknown) => void): void {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim();
  if (UPLOAD_TYPES.test(type)) return next();
  next(
    new AppError('UNSUPPORTED_MEDIA_TYPE', `send the file as application/octet-stream (or image/*, application/dicom), not ${type ? quoted(type) : 'without a content type'}`, {
      allowed: ['application/octet-stream', 'image/*', 'application/dicom'],
    }),
  );
}

export function uploadBody(app: App) {
  return [requireUploadType, express.raw({ type: () => true, limit: app.settings(DATASET_SETTINGS).maxUploadBytes })];
}

export async function upload({ app }: RequestContext, request: Request): Promise<RouteAnswer> {
  const bytes = request.body;
  if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw badUserInput('body', 'the request body (the file) is empty');
  const update = stringParam(request, 'update', false);
  if (update !== null && update !== 'true' && update !== 'false') throw badUserInput('update', `must be true or false, got ${quoted(update)}`);
  const result = await importUpload(app, {
    datasetName: stringParam(request, 'dataset', true)!,
    fileName: stringParam(request, 'filename', false) ?? 'upload',
    path: stringParam(request, 'path', false),
    split: stringParam(request, 'split', false),
    label: stringParam(request, 'label', false),
    update: update === 'true',
    bytes,
  });
  const { image, created, updated, differences } = result;
  const note = Object.keys(differences).length
    ? `the dataset has this image already and it differs in ${Object.keys(differences).join(', ')}; it was left as it was${
        differences.split || differences.label ? ' (update=true changes split and label)' : ''
      }`
    : null;
  return { status: created ? 201 : 200, body: { image, created, updated, differences, note }, affectedIds: [image.id, image.datasetId] };
}
