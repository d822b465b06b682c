/**
 * A folder as a zip download, streamed: nothing is buffered beyond the file being compressed.
 *
 * archiver 7 rather than 8: archiver 8 is an ES module only, and this project (and its tests, through
 * @swc/jest) loads CommonJS; 7 is CommonJS and supports Node 14 and later.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import archiver from 'archiver';

export class ZipFolderError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ZipFolderError';
  }
}

/** Already compressed: deflate would cost time for nothing. */
const STORED_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/**
 * Streams every regular file under `folder` into `output` as `<rootName>/<relative path>`, in sorted path order.
 * Symbolic links and special files are left out, never followed. Resolves when `output` has received the whole
 * archive; on an error rejects and stops reading, and `output` then holds a partial archive (the caller ends it).
 */
export async function zipFolder(folder: string, rootName: string, output: NodeJS.WritableStream): Promise<{ bytes: number; files: number }> {
  if (!rootName || rootName === '.' || rootName === '..' || /[/\\\0]/.test(rootName)) {
    throw new ZipFolderError(`the zip's root folder name '${rootName}' must be one plain path segment`);
  }
  const base = path.resolve(folder);
  const files: string[] = [];
  await collectFiles(base, '', files);
  // Code-unit order of the whole path: the same on every machine, whatever the locale.
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  // One lstat at a time: archiver adds entries in the order its lstat calls complete, and the order is part of the contract.
  const archive = archiver('zip', { zlib: { level: 6 }, statConcurrency: 1 });
  const failed = new Promise<never>((_, reject) => {
    archive.on('error', reject);
    // archiver reports a file that vanished (or turned into something else) as a warning; the archive would lack it.
    archive.on('warning', reject);
  });
  const written = finished(output);
  archive.pipe(output);
  for (const rel of files) {
    // Typed as ZipEntryData: @types/archiver types file()'s data as the common EntryData, without zip's `store`.
    const entry: archiver.ZipEntryData = { name: `${rootName}/${rel}`, store: STORED_EXTENSIONS.has(path.extname(rel).toLowerCase()) };
    archive.file(path.join(base, rel), entry);
  }
  try {
    await Promise.race([failed, Promise.all([archive.finalize(), written])]);
  } catch (err) {
    archive.abort();
    throw new ZipFolderError(`zipping ${base} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { bytes: archive.pointer(), files: files.length };
}

/** Adds the '/'-separated paths of the regular files under base/rel to found; hidden files are included. */
async function collectFiles(base: string, rel: string, found: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    // withFileTypes describes the entries themselves (as lstat does): links are seen as links and skipped.
    entries = await readdir(path.join(base, rel), { withFileTypes: true });
  } catch (err) {
    throw new ZipFolderError(`cannot read the folder ${path.join(base, rel)}: ${(err as Error).message}`, { cause: err });
  }
  for (const entry of entries) {
    const entryRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await collectFiles(base, entryRel, found);
    else if (entry.isFile()) found.push(entryRel);
  }
}
