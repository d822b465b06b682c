/**
 * How an imported folder is laid out:
 * - "kermany": {train,test,val}/<LABEL>/<file>, as in the pediatric pneumonia release;
 * - "class-folders": <LABEL>/<file>;
 * - "flat": files directly in the folder.
 * Hidden files and the synthetic-dataset marker are not items; every other file is, so that a non-image in
 * the folder is reported as a failed item rather than silently ignored.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SYNTHETIC_MARKER_FILE } from '../synth/dataset';

export const SPLITS = ['train', 'test', 'val'] as const;
export type Split = (typeof SPLITS)[number];
export type Layout = 'kermany' | 'class-folders' | 'flat';

export interface ImportItem {
  /** Relative to the imported folder, with forward slashes. */
  path: string;
  split: Split | null;
  label: string | null;
}

export class LayoutError extends Error {}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && entry.name !== SYNTHETIC_MARKER_FILE)
    .map((entry) => entry.name)
    .sort();
}

async function listDirs(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !entry.name.startsWith('__'))
    .map((entry) => entry.name)
    .sort();
}

async function classFolderItems(root: string, prefix: string, split: Split | null): Promise<ImportItem[]> {
  const items: ImportItem[] = [];
  for (const file of await listFiles(path.join(root, prefix))) {
    items.push({ path: path.posix.join(prefix, file), split, label: null });
  }
  for (const label of await listDirs(path.join(root, prefix))) {
    for (const file of await listFiles(path.join(root, prefix, label))) {
      items.push({ path: path.posix.join(prefix, label, file), split, label });
    }
  }
  return items;
}

export async function scanFolder(root: string): Promise<{ layout: Layout; items: ImportItem[] }> {
  let stat;
  try {
    stat = await fs.stat(root);
  } catch {
    throw new LayoutError(`folder not found: ${root}`);
  }
  if (!stat.isDirectory()) throw new LayoutError(`not a folder: ${root}`);

  const dirs = await listDirs(root);
  const splitDirs = dirs.filter((dir): dir is Split => (SPLITS as readonly string[]).includes(dir.toLowerCase()));
  if (splitDirs.length > 0) {
    const items: ImportItem[] = [];
    for (const dir of splitDirs) items.push(...(await classFolderItems(root, dir, dir.toLowerCase() as Split)));
    return { layout: 'kermany', items };
  }
  const items = await classFolderItems(root, '', null);
  return { layout: dirs.length > 0 ? 'class-folders' : 'flat', items };
}

/**
 * Patient id carried by a file name in the pediatric pneumonia release:
 * person12_bacteria_45.jpeg -> person12; IM-0115-0001.jpeg -> IM-0115; NORMAL2-IM-1427-0001.jpeg -> NORMAL2-IM-1427.
 */
export function patientIdFromFileName(fileName: string): string | null {
  const base = path.posix.basename(fileName);
  const person = /^(person\d+)_/i.exec(base);
  if (person) return person[1].toLowerCase();
  const study = /^((?:NORMAL\d*-)?IM-\d+)-\d+/i.exec(base);
  if (study) return study[1].toUpperCase();
  return null;
}
