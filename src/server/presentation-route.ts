/**
 * GET /presentations/:id/<slot>.png: one image of a rater's open presentation, 8-bit in the study's window.
 * No ETag: equal tags would tell a rater that two images are the same file.
 * GET /display-checks/:id.png: the study's display-check steps, in the same window.
 */
import type { Request, Response } from 'express';
import { renderPng } from '../imaging/render';
import type { RequestContext } from '../platform/context';
import { presentationPicture, type Slot } from '../studies/judgments';
import { displayCheckPng, displayCheckWindow } from '../studies/display-check';

function sendPng(response: Response, png: Buffer): void {
  response.setHeader('Content-Type', 'image/png');
  response.setHeader('Cache-Control', 'private, no-store');
  response.end(png);
}

export function presentationImageRoute(slot: Slot) {
  return async ({ app, principal }: RequestContext, request: Request, response: Response): Promise<void> => {
    // A signed link admits without a token; a RATER token admits its own rater's presentations only.
    const picture = await presentationPicture(app, String(request.params.id), slot, principal?.raterId ?? null);
    sendPng(response, await renderPng(await app.blobs.read(picture.contentHash), { depth: 8, window: picture.window }));
  };
}

export async function displayCheckRoute({ app, principal }: RequestContext, request: Request, response: Response): Promise<void> {
  sendPng(response, await displayCheckPng(await displayCheckWindow(app, String(request.params.id), principal?.raterId ?? null)));
}
