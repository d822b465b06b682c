/**
 * `medpsim import FOLDER --upload`: the files of a local folder sent to the server over HTTP (POST /upload),
 * several at once, so that the CLI works against a server on another machine. The folder is read with the
 * server's own layout rules (split and label from the folders, each file's path kept as its source path);
 * files whose content the dataset already has are not sent again, so a rerun after an interruption resumes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { scanFolder, type ImportItem } from '../datasets/layout';
import { ApiError, request, type Server } from './client';

export interface UploadSummary {
  dataset: string;
  files: number;
  uploaded: number;
  /** The dataset had their content already (not sent). */
  alreadyThere: number;
  failed: Array<{ item: string; code: string; message: string }>;
}

interface Planned {
  item: ImportItem;
  file: string;
  sha256: string;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function knownHashes(server: Server, datasetName: string, hashes: string[]): Promise<Set<string>> {
  const { datasets } = await request<{ datasets: Array<{ id: string; name: string }> }>(server, `{ datasets { id name } }`);
  const dataset = datasets.find((candidate) => candidate.name === datasetName);
  const known = new Set<string>();
  if (!dataset) return known;
  for (let start = 0; start < hashes.length; start += 1000) {
    const { dataset: found } = await request<{ dataset: { knownContent: string[] } }>(
      server,
      `query ($id: ID!, $sha256: [String!]!) { dataset(id: $id) { knownContent(sha256: $sha256) } }`,
      { id: dataset.id, sha256: hashes.slice(start, start + 1000) },
    );
    for (const hash of found.knownContent) known.add(hash);
  }
  return known;
}

async function uploadOne(server: Server, datasetName: string, planned: Planned, defaults: { split?: string; label?: string }): Promise<void> {
  const query = new URLSearchParams({ dataset: datasetName, filename: path.posix.basename(planned.item.path), path: planned.item.path });
  const split = planned.item.split ?? defaults.split;
  const label = planned.item.label ?? defaults.label;
  if (split) query.set('split', split);
  if (label) query.set('label', label);
  let response: Response;
  try {
    response = await fetch(`${server.url}/upload?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...(server.token ? { authorization: `Bearer ${server.token}` } : {}) },
      body: await fs.readFile(planned.file),
    });
  } catch (error) {
    throw new ApiError(`no medpsim server at ${server.url}: ${(error as Error).cause ?? error}`, 'UNREACHABLE');
  }
  if (response.ok) return;
  const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  throw new ApiError(body?.error?.message ?? `HTTP ${response.status}`, body?.error?.code ?? `HTTP_${response.status}`);
}

export async function uploadFolder(
  server: Server,
  options: { folder: string; dataset: string; split?: string; label?: string; inFlight: number; showBar: boolean },
): Promise<UploadSummary> {
  const { items } = await scanFolder(options.folder);
  const summary: UploadSummary = { dataset: options.dataset, files: items.length, uploaded: 0, alreadyThere: 0, failed: [] };
  const readable: Planned[] = [];
  for (const item of items) {
    if (item.rejected) summary.failed.push({ item: item.path, ...item.rejected });
    else readable.push({ item, file: path.join(options.folder, item.path), sha256: await sha256Of(path.join(options.folder, item.path)) });
  }
  const known = await knownHashes(server, options.dataset, readable.map((planned) => planned.sha256));
  const queue = readable.filter((planned) => !known.has(planned.sha256));
  summary.alreadyThere = readable.length - queue.length;

  const bar = options.showBar ? new SingleBar({ format: 'upload [{bar}] {percentage}% {value}/{total} files | {skipped} already there | {failed} failed', hideCursor: true }, Presets.shades_classic) : null;
  const progress = () => ({ skipped: summary.alreadyThere, failed: summary.failed.length });
  bar?.start(items.length, summary.alreadyThere + summary.failed.length, progress());
  const worker = async () => {
    for (let planned = queue.shift(); planned; planned = queue.shift()) {
      try {
        await uploadOne(server, options.dataset, planned, options);
        summary.uploaded++;
      } catch (error) {
        const { code, message } = error as ApiError;
        if (code === 'UNREACHABLE' || code === 'UNAUTHENTICATED' || code === 'FORBIDDEN' || code === 'TOO_MANY_REQUESTS') throw error; // no use going on
        summary.failed.push({ item: planned.item.path, code: code ?? 'ERROR', message });
      }
      bar?.increment(1, progress());
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.inFlight) }, worker));
  } finally {
    bar?.stop();
  }
  return summary;
}
