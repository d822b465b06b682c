/** GET /exports/:id.zip: a finished study export, streamed as a zip (nothing is written beside the folder). */
import type { Request, Response } from 'express';
import type { RequestContext } from '../platform/context';
import { finishedExport } from '../studies/export';
import { zipFolder } from '../testsets/zip';

export async function exportDownload({ app }: RequestContext, request: Request, response: Response): Promise<void> {
  const { folder, studyId } = await finishedExport(app, String(request.params.id));
  const name = `medpsim-study-${studyId}`;
  response.setHeader('Content-Type', 'application/zip');
  response.setHeader('Content-Disposition', `attachment; filename="${name}.zip"`);
  try {
    await zipFolder(folder, name, response);
  } catch (error) {
    // Headers are gone already: all a client can be told is that the download broke off.
    response.destroy(error as Error);
  }
}
