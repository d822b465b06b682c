/**
 * The browser apps of web/ (built into web/dist/<app>/ by `npm run build`), served from the server itself:
 * nothing comes from a CDN. The page is public (it holds no data; it asks for a token or an invitation),
 * assets are served by name from the app's own folder only, under a strict Content-Security-Policy.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'express';
import type { RequestContext } from '../platform/context';
import { notFound } from '../platform/errors';
import { packageRoot } from '../platform/paths';
import type { HttpRoute } from '../platform/module';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const POLICY = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function webAppFolder(name: string): string {
  return path.join(packageRoot(), 'web', 'dist', name);
}

async function send(response: Response, file: string, cache: string): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    throw notFound('file', path.basename(file));
  }
  response.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
  response.setHeader('Content-Security-Policy', POLICY);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Cache-Control', cache);
  response.end(body);
}

/** GET <page> gives the app's page (which names its files by absolute path); <assets>/<name> its files. */
export function webAppRoutes(name: string, page: string, assets = `${page}/assets`): HttpRoute[] {
  const folder = webAppFolder(name);
  const index = async (_context: RequestContext, _request: Request, response: Response) => send(response, path.join(folder, 'index.html'), 'no-cache');
  return [
    { method: 'get', path: page, access: { public: true }, handle: index },
    {
      method: 'get',
      path: `${assets}/:file`,
      access: { public: true },
      async handle(_context, request, response) {
        const file = String(request.params.file);
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(file)) throw notFound('file', file);
        await send(response, path.join(folder, 'assets', file), 'public, max-age=31536000, immutable');
      },
    },
  ];
}
