/**
 * How an imported folder is laid out:
 * - "kermany": {train,test,val}/<LABEL>/<file>, as in the pediatric pneumonia release;
 * - "class-folders": <LABEL>/<file>;
 * - "flat": files directly in the folder.
 * Hidden entries (and macOS's __MACOSX) and the synthetic-dataset marker are not items; every other entry
 * is, so that nothing is skipped silently: a non-image is a failed item, and so is anything that is not a
 * regular file where files belong (a symlink, a FIFO, a device, a folder nested deeper than the layout).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { kindOf } from '../platform/files';
import { SYNTHETIC_MARKER_FILE } from '../synth/dataset';

export const SPLITS = ['train', 'test', 'val'] as const;
export type Split = (typeof SPLITS)[number];
export type Layout = 'kermany' | 'class-folders' | 'flat';

export interface ImportItem {
  /** Relative to the imported folder, with forward slashes. */
  path: string;
  split: Split | null;
  label: string | null;
  /** Not read: why (a failed item with this code). */
  rejected?: { code: string; message: string };
}

export class LayoutError extends Error {}

interface Entries {
  files: string[];
  dirs: string[];
  /** Neither: symlinks, FIFOs, sockets, devices. */
  others: Array<{ name: string; code: string; message: string }>;
}

async function listEntries(dir: string): Promise<Entries> {
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const listed: Entries = { files: [], dirs: [], others: [] };
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name.startsWith('__') || entry.name === SYNTHETIC_MARKER_FILE) continue;
    if (entry.isFile()) listed.files.push(entry.name);
    else if (entry.isDirectory()) listed.dirs.push(entry.name);
    else if (entry.isSymbolicLink()) listed.others.push({ name: entry.name, code: 'SYMLINK', message: 'a symbolic link: not followed' });
    else listed.others.push({ name: entry.name, code: 'NOT_A_FILE', message: `not a regular file (${kindOf(entry)})` });
  }
  return listed;
}

function rejected(at: string, split: Split | null, label: string | null, code: string, message: string): ImportItem {
  return { path: at, split, label, rejected: { code, message } };
}

/** Files of a folder, and everything else in it as rejected items (folders too: nothing nests deeper). */
async function filesOf(root: string, prefix: string, split: Split | null, label: string | null, nested: boolean): Promise<ImportItem[]> {
  const { files, dirs, others } = await listEntries(path.join(root, prefix));
  const items: ImportItem[] = files.map((file) => ({ path: path.posix.join(prefix, file), split, label }));
  for (const other of others) items.push(rejected(path.posix.join(prefix, other.name), split, label, other.code, other.message));
  if (nested) {
    for (const dir of dirs) {
      items.push(rejected(`${path.posix.join(prefix, dir)}/`, split, label, 'NESTED_FOLDER', 'a folder deeper than the layout ({train,test,val}/<LABEL>/<file>): not imported'));
    }
  }
  return items;
}

async function classFolderItems(root: string, prefix: string, split: Split | null): Promise<ImportItem[]> {
  const items = await filesOf(root, prefix, split, null, false);
  for (const label of (await listEntries(path.join(root, prefix))).dirs) {
    items.push(...(await filesOf(root, path.posix.join(prefix, label), split, label, true)));
  }
  return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function scanFolder(root: string): Promise<{ layout: Layout; items: ImportItem[] }> {
  let stat;
  try {
    stat = await fs.stat(root);
  } catch {
    throw new LayoutError(`folder not found: ${root}`);
  }
  if (!stat.isDirectory()) throw new LayoutError(`not a folder: ${root}`);

  const { dirs } = await listEntries(root);
  const isSplit = (dir: string) => (SPLITS as readonly string[]).includes(dir.toLowerCase());
  if (dirs.some(isSplit)) {
    // Files at the top are items without a split; other top folders are not splits: reported, not read.
    const items = await filesOf(root, '', null, null, false);
    for (const dir of dirs) {
      if (isSplit(dir)) items.push(...(await classFolderItems(root, dir, dir.toLowerCase() as Split)));
      else items.push(rejected(`${dir}/`, null, null, 'NESTED_FOLDER', `a folder beside ${SPLITS.join('/')} that is not a split: not imported`));
    }
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
