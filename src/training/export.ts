/**
 * A server dataset as a folder the trainer reads (training/README.md, "Export format"): manifest.json with
 * format "medpsim-dataset", version 1, and one entry per image (path, split, label, patientId, sourcePath),
 * beside the stored PNGs under images/ab/<sha256>.png. The PNGs are hard links into the blob store where
 * the folder is on the same file system (no copy of a large dataset), else copies; blobs are never written
 * in place (storage/blobs.ts), so a link cannot change under the trainer.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { App } from '../platform/app';

export const EXPORT_FORMAT = 'medpsim-dataset';
const PAGE = 1000;

export interface ExportedImage {
  path: string;
  split: string | null;
  label: string | null;
  patientId: string | null;
  sourcePath: string;
}

/** Writes the dataset's images and manifest.json into `folder` (created; should not exist yet). */
export async function exportDataset(app: App, datasetId: string, folder: string): Promise<{ images: number }> {
  const { rows: datasets } = await app.pool.query<{ name: string }>(`SELECT name FROM datasets WHERE id = $1`, [datasetId]);
  if (datasets.length === 0) throw new Error(`dataset ${datasetId} no longer exists`);
  await fs.mkdir(folder, { recursive: true });

  const images: ExportedImage[] = [];
  const written = new Set<string>(); // the same bytes under two source paths are one file
  const folders = new Set<string>();
  // Keyset pages in source-path order: a large dataset is never one result in memory.
  for (let after = ''; ; ) {
    const { rows } = await app.pool.query<{
      source_path: string;
      split: string | null;
      label: string | null;
      patient_id: string | null;
      content_hash: string;
    }>(
      `SELECT source_path, split, label, patient_id, content_hash FROM images
       WHERE dataset_id = $1 AND source_path > $2 ORDER BY source_path LIMIT ${PAGE}`,
      [datasetId, after],
    );
    for (const row of rows) {
      const hash = row.content_hash;
      const relative = `images/${hash.slice(0, 2)}/${hash}.png`;
      if (!written.has(hash)) {
        const target = path.join(folder, relative);
        if (!folders.has(path.dirname(target))) {
          await fs.mkdir(path.dirname(target), { recursive: true });
          folders.add(path.dirname(target));
        }
        await linkOrCopy(app.blobs.pathOf(hash), target);
        written.add(hash);
      }
      images.push({ path: relative, split: row.split, label: row.label, patientId: row.patient_id, sourcePath: row.source_path });
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1].source_path;
  }

  const manifest = { format: EXPORT_FORMAT, version: 1, dataset: datasets[0].name, images };
  await fs.writeFile(path.join(folder, 'manifest.json'), JSON.stringify(manifest));
  return { images: images.length };
}

async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await fs.link(source, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Another file system (EXDEV) or one without hard links (EPERM): copy instead.
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw error;
    await fs.copyFile(source, target);
  }
}
