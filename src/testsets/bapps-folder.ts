/**
 * Folders in the BAPPS layout (LPIPS, Zhang et al. 2018), as the loaders of richzhang/PerceptualSimilarity read them
 * (data/dataset/twoafc_dataset.py, jnd_dataset.py):
 *   2afc/<split>/<category>/{ref,p0,p1}/<name>.png and 2afc/<split>/<category>/judge/<name>.npy (fraction of raters who chose p1)
 *   jnd/<split>/<category>/{p0,p1}/<name>.png and jnd/<split>/<category>/same/<name>.npy (fraction who said "same")
 * The lister only reads folder listings, never file contents, and never follows a symbolic link.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export class BappsLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BappsLayoutError';
  }
}

export type BappsKind = 'TWO_AFC' | 'JND';

export interface BappsItem {
  kind: BappsKind;
  split: string;
  category: string;
  /** The file name without its extension, the same in every folder of the item. */
  name: string;
  /** Absolute paths; JND items have no ref (p0 is the reference). */
  files: { ref?: string; p0: string; p1: string };
  /** Absolute path of the .npy judgment. */
  judgment: string;
}

export interface BappsListing {
  items: BappsItem[];
  /** Everything found that is not part of a listed item (hidden files aside); paths relative to the root, '/'-separated. */
  problems: Array<{ path: string; reason: string }>;
}

/** Relative paths, '/'-separated, of one item's files. */
export interface BappsPaths {
  ref?: string;
  p0: string;
  p1: string;
  judgment: string;
}

const LAYOUTS: Record<BappsKind, { folder: string; images: Array<'ref' | 'p0' | 'p1'>; judgments: string }> = {
  TWO_AFC: { folder: '2afc', images: ['ref', 'p0', 'p1'], judgments: 'judge' },
  JND: { folder: 'jnd', images: ['p0', 'p1'], judgments: 'same' },
};
/** In folder order, which is also the order of the listing. */
const KINDS: BappsKind[] = ['TWO_AFC', 'JND'];
const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const DEFAULT_MAX_ITEMS = 200_000;

type Problems = BappsListing['problems'];

/**
 * Lists the items of a BAPPS folder. Incomplete items are left out and each of their files reported in problems,
 * as is anything else that is not part of the layout. Throws BappsLayoutError when the root has neither 2afc/ nor jnd/,
 * or holds more than maxItems items.
 */
export async function readBappsFolder(root: string, options: { maxItems?: number } = {}): Promise<BappsListing> {
  const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;
  if (!Number.isSafeInteger(maxItems) || maxItems < 0) throw new BappsLayoutError(`maxItems must be a non-negative integer, not ${maxItems}`);
  const base = path.resolve(root);
  // The root itself is the caller's choice and may be a link; nothing below it is followed.
  const rootStats = await stat(base).catch(() => null);
  if (!rootStats?.isDirectory()) throw new BappsLayoutError(`${root} is not a folder`);

  const listing: BappsListing = { items: [], problems: [] };
  const top = await listFolder(base, '', listing.problems);
  const kinds = KINDS.filter((kind) => top.folders.includes(LAYOUTS[kind].folder));
  if (kinds.length === 0) {
    throw new BappsLayoutError(
      `${root} is not in the BAPPS layout: expected a folder 2afc/ (<split>/<category>/{ref,p0,p1,judge}) or jnd/ (<split>/<category>/{p0,p1,same})`,
    );
  }
  const others = top.folders.filter((name) => !kinds.some((kind) => LAYOUTS[kind].folder === name));
  report([...others, ...top.files], '', 'not part of the BAPPS layout (2afc/ and jnd/ are)', listing.problems);

  for (const kind of kinds) {
    const kindRel = LAYOUTS[kind].folder;
    const splits = await listFolder(base, kindRel, listing.problems);
    report(splits.files, kindRel, 'a file where split folders are expected', listing.problems);
    for (const split of splits.folders) {
      const splitRel = `${kindRel}/${split}`;
      const categories = await listFolder(base, splitRel, listing.problems);
      report(categories.files, splitRel, 'a file where category folders are expected', listing.problems);
      for (const category of categories.folders) {
        listing.items.push(...(await readCategory(base, kind, split, category, listing.problems)));
        if (listing.items.length > maxItems) throw new BappsLayoutError(`${root} holds more than ${maxItems} items`);
      }
    }
  }
  listing.problems.sort((a, b) => compare(a.path, b.path));
  return listing;
}

/** The relative paths a writer uses for item `index` of a category: names are the index, zero-padded to 6 digits. */
export function bappsPaths(kind: BappsKind, split: string, category: string, index: number): BappsPaths {
  for (const [what, name] of [['split', split], ['category', category]]) {
    if (!SAFE_NAME.test(name)) throw new BappsLayoutError(`${what} '${name}' is not a safe folder name (letters, digits, _ . -; safeFolderName makes one)`);
  }
  if (!Number.isInteger(index) || index < 0 || index > 999_999) throw new BappsLayoutError(`item index ${index} is outside 0..999999`);
  const { folder, judgments } = LAYOUTS[kind];
  const dir = `${folder}/${split}/${category}`;
  const name = String(index).padStart(6, '0');
  const pair = { p0: `${dir}/p0/${name}.png`, p1: `${dir}/p1/${name}.png`, judgment: `${dir}/${judgments}/${name}.npy` };
  return kind === 'TWO_AFC' ? { ref: `${dir}/ref/${name}.png`, ...pair } : pair;
}

/** A folder name for any category text: lowercase ASCII, runs of other characters as '_', at most 64 characters. */
export function safeFolderName(text: string): string {
  const name = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents: 'é' -> 'e'
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[_.-]+/, '') // must start with a letter or digit (no hidden or '..' folders)
    .slice(0, 64)
    .replace(/[_.-]+$/, '');
  return name || 'uncategorized';
}

/** One category's complete items, in name order; its other files go to problems. */
async function readCategory(base: string, kind: BappsKind, split: string, category: string, problems: Problems): Promise<BappsItem[]> {
  const { folder, images, judgments } = LAYOUTS[kind];
  const rel = `${folder}/${split}/${category}`;
  const expected = [...images, judgments];
  const listed = await listFolder(base, rel, problems);
  report([...listed.folders.filter((name) => !expected.includes(name)), ...listed.files], rel, `not part of the layout (${expected.join(', ')} are)`, problems);
  const missing = expected.filter((sub) => !listed.folders.includes(sub));
  for (const sub of missing) problems.push({ path: `${rel}/${sub}`, reason: 'missing folder: no item of this category can be complete' });
  if (missing.length > 0) return [];

  // Per folder, file name by name without extension.
  const byFolder = new Map<string, Map<string, string>>();
  for (const sub of expected) {
    const subRel = `${rel}/${sub}`;
    const listedSub = await listFolder(base, subRel, problems);
    report(listedSub.folders, subRel, 'a folder inside an image or judgment folder (not read)', problems);
    const extensions = sub === judgments ? ['.npy'] : IMAGE_EXTENSIONS;
    const stems = new Map<string, string>();
    for (const file of listedSub.files) {
      const extension = path.extname(file);
      const stem = file.slice(0, file.length - extension.length);
      if (!extensions.includes(extension.toLowerCase())) {
        problems.push({ path: `${subRel}/${file}`, reason: `not a ${extensions.join(', ')} file` });
      } else if (stems.has(stem)) {
        problems.push({ path: `${subRel}/${file}`, reason: `same name as ${stems.get(stem)} (one of them is used)` });
      } else {
        stems.set(stem, file);
      }
    }
    byFolder.set(sub, stems);
  }

  // LPIPS pairs the files of the folders by sorted order; pairing by name gives the same items when the names match,
  // and when they do not, leaves out only the items that are incomplete instead of mixing up all that follow.
  const allStems = [...new Set([...byFolder.values()].flatMap((stems) => [...stems.keys()]))].sort(compare);
  const items: BappsItem[] = [];
  for (const stem of allStems) {
    const lacking = expected.filter((sub) => !byFolder.get(sub)!.has(stem));
    const at = (sub: string) => path.join(base, rel, sub, byFolder.get(sub)!.get(stem)!);
    if (lacking.length === 0) {
      const files = { p0: at('p0'), p1: at('p1') };
      items.push({ kind, split, category, name: stem, files: kind === 'TWO_AFC' ? { ref: at('ref'), ...files } : files, judgment: at(judgments) });
      continue;
    }
    for (const sub of expected) {
      const file = byFolder.get(sub)!.get(stem);
      if (file) problems.push({ path: `${rel}/${sub}/${file}`, reason: `no matching ${stem}.* in ${lacking.join(', ')} (files are paired by name)` });
    }
  }
  return items;
}

/**
 * Sorted names of the sub-folders and regular files of a folder; links and special files are reported, hidden names skipped.
 * A folder that cannot be read fails the whole listing: what it holds is unknown.
 */
async function listFolder(base: string, rel: string, problems: Problems): Promise<{ folders: string[]; files: string[] }> {
  const folders: string[] = [];
  const files: string[] = [];
  let entries: Dirent[];
  try {
    // withFileTypes describes the entries themselves (as lstat does), so a link is seen as a link.
    entries = await readdir(path.join(base, rel), { withFileTypes: true });
  } catch (err) {
    throw new BappsLayoutError(`cannot read the folder ${rel || base}: ${(err as Error).message}`);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const entryRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isSymbolicLink()) problems.push({ path: entryRel, reason: 'symbolic link (not followed)' });
    else if (entry.isDirectory()) folders.push(entry.name);
    else if (entry.isFile()) files.push(entry.name);
    else problems.push({ path: entryRel, reason: 'not a regular file or folder' });
  }
  return { folders: folders.sort(compare), files: files.sort(compare) };
}

function report(names: string[], rel: string, reason: string, problems: Problems): void {
  for (const name of names) problems.push({ path: rel ? `${rel}/${name}` : name, reason });
}

/** Code-unit order, as Python's sorted() for the names that occur here; not the locale's. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
