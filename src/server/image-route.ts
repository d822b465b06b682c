/**
 * GET /images/:id.png and /distortions/:id.png: the stored PNG (depth 16, the default) or a windowed 8-bit
 * rendition (depth 8; a distorted image takes its source image's default window).
 */
import type { Request, Response } from 'express';
import type { App } from '../app';
import { getImage } from '../datasets/service';
import { getDistortion } from '../distortions/service';
import type { Image } from '../entities';
import type { DisplayWindow } from '../imaging/types';
import { renderPng } from '../imaging/render';
import { HttpError } from './http-error';

export function imageUrl(
  baseUrl: string,
  id: string,
  options: { depth: number; windowCenter?: number | null; windowWidth?: number | null },
  collection: 'images' | 'distortions' = 'images',
): string {
  const query = new URLSearchParams();
  if (options.depth !== 16) query.set('depth', String(options.depth));
  if (options.windowCenter !== null && options.windowCenter !== undefined) query.set('center', String(options.windowCenter));
  if (options.windowWidth !== null && options.windowWidth !== undefined) query.set('width', String(options.windowWidth));
  const suffix = query.size ? `?${query}` : '';
  return `${baseUrl}/${collection}/${id}.png${suffix}`;
}

function numberParam(request: Request, name: string): number | null {
  const raw = request.query[name];
  if (raw === undefined) return null;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw === '' || !Number.isFinite(value)) {
    throw new HttpError(400, 'BAD_USER_INPUT', `${name} must be a finite number, got "${String(raw)}"`);
  }
  return value;
}

/** What the route needs of a stored picture: its blob and its default window. */
export interface StoredPicture {
  contentHash: string;
  window: DisplayWindow | null;
}

function windowOf(image: Image): DisplayWindow | null {
  return image.windowCenter !== null && image.windowWidth !== null ? { center: image.windowCenter, width: image.windowWidth } : null;
}

export async function storedImage(app: App, id: string): Promise<StoredPicture> {
  const image = await getImage(app, id);
  return { contentHash: image.contentHash, window: windowOf(image) };
}

export async function storedDistortion(app: App, id: string): Promise<StoredPicture> {
  const distorted = await getDistortion(app, id);
  return { contentHash: distorted.contentHash, window: windowOf(await getImage(app, distorted.imageId)) };
}

export function imageRoute(app: App, load: (app: App, id: string) => Promise<StoredPicture>) {
  return async (request: Request, response: Response): Promise<void> => {
    const depth = numberParam(request, 'depth') ?? 16;
    if (depth !== 8 && depth !== 16) throw new HttpError(400, 'BAD_USER_INPUT', `depth must be 8 or 16, got ${depth}`);
    const center = numberParam(request, 'center');
    const width = numberParam(request, 'width');
    if ((center === null) !== (width === null)) {
      throw new HttpError(400, 'BAD_USER_INPUT', 'center and width must be given together');
    }
    if (width !== null && width <= 0) throw new HttpError(400, 'BAD_USER_INPUT', `width must be > 0, got ${width}`);

    const picture = await load(app, String(request.params.id));
    const stored = await app.blobs.read(picture.contentHash);
    const window = center !== null && width !== null ? { center, width } : picture.window;
    const png = depth === 16 ? stored : await renderPng(stored, { depth: 8, window });
    response.setHeader('Content-Type', 'image/png');
    response.setHeader('Cache-Control', 'private, max-age=86400');
    response.setHeader('ETag', `"${picture.contentHash}-${depth}-${window?.center ?? ''}-${window?.width ?? ''}"`);
    response.end(png);
  };
}
