/**
 * GET /images/:id.png and /distortions/:id.png: the stored PNG (depth 16, the default) or a windowed 8-bit
 * rendition (depth 8). Links handed to clients are signed (access/signed-urls.ts), so that <img> tags work
 * without a token; scripts may send their bearer token instead.
 */
import type { Request, Response } from 'express';
import { signedPath } from '../access/signed-urls';
import type { App } from '../platform/app';
import type { RequestContext } from '../platform/context';
import { badUserInput } from '../platform/errors';
import { renderPng } from '../imaging/render';
import type { StoredPicture } from '../imaging/types';

export type ImageCollection = 'images' | 'distortions' | 'test-set-items' | 'presentations';

export interface RenditionOptions {
  depth: number;
  windowCenter?: number | null;
  windowWidth?: number | null;
}

/** An absolute, signed link to a stored picture (expires after MEDPSIM_SIGNED_URL_SECONDS). */
export async function imageUrl(context: RequestContext, collection: ImageCollection, id: string, options: RenditionOptions): Promise<string> {
  const query = new URLSearchParams();
  if (options.depth !== 16) query.set('depth', String(options.depth));
  if (options.windowCenter !== null && options.windowCenter !== undefined) query.set('center', String(options.windowCenter));
  if (options.windowWidth !== null && options.windowWidth !== undefined) query.set('width', String(options.windowWidth));
  const signed = await signedPath(context.app, `/${collection}/${id}.png`);
  return `${context.baseUrl}${signed}${query.size ? `&${query}` : ''}`;
}

function numberParam(request: Request, name: string): number | null {
  const raw = request.query[name];
  if (raw === undefined) return null;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw === '' || !Number.isFinite(value)) throw badUserInput(name, `must be a finite number, got "${String(raw)}"`);
  return value;
}

export function imageRoute(load: (app: App, id: string) => Promise<StoredPicture>) {
  return async ({ app }: RequestContext, request: Request, response: Response): Promise<void> => {
    const depth = numberParam(request, 'depth') ?? 16;
    if (depth !== 8 && depth !== 16) throw badUserInput('depth', `must be 8 or 16, got ${depth}`);
    const center = numberParam(request, 'center');
    const width = numberParam(request, 'width');
    if ((center === null) !== (width === null)) throw badUserInput('center', 'center and width must be given together');
    if (width !== null && width <= 0) throw badUserInput('width', `must be > 0, got ${width}`);

    const picture = await load(app, String(request.params.id));
    const stored = await app.blobs.read(picture.contentHash);
    const window = center !== null && width !== null ? { center, width } : picture.window;
    const png = depth === 16 ? stored : await renderPng(stored, { depth: 8, window });
    response.setHeader('Content-Type', 'image/png');
    response.setHeader('Cache-Control', 'private, max-age=3600');
    response.setHeader('ETag', `"${picture.contentHash}-${depth}-${window?.center ?? ''}-${window?.width ?? ''}"`);
    response.end(png);
  };
}
