/**
 * Which server files a client may have the server read: only inside the configured roots
 * (MEDPSIM_IMPORT_ROOTS), checked after `..` and symlinks are resolved, and only regular files of a bounded
 * size, opened without following a symlink (so a file swapped for one after the check is refused too).
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import { badUserInput } from './errors';

function describeRoots(config: Config): string {
  return `${config.importRoots.join(', ')} (MEDPSIM_IMPORT_ROOTS)`;
}

/** Each root with its symlinks resolved; roots that do not exist admit nothing. */
async function realRoots(config: Config): Promise<string[]> {
  const resolved = await Promise.all(config.importRoots.map((root) => fs.realpath(root).catch(() => null)));
  return resolved.filter((root): root is string => root !== null);
}

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * A folder a client names (an import, a training's data): absolute (relative ones are taken from the
 * server's working directory), existing, a folder, and inside a root once resolved. BAD_USER_INPUT on
 * `field` otherwise, naming the roots.
 */
export async function folderInsideRoots(config: Config, given: string, field: string): Promise<string> {
  return (await entryInsideRoots(config, given, field, 'folder')).resolved;
}

/** The same for one file (e.g. a model to register). */
export async function fileInsideRoots(config: Config, given: string, field: string): Promise<string> {
  return (await entryInsideRoots(config, given, field, 'file')).resolved;
}

async function entryInsideRoots(config: Config, given: string, field: string, kind: 'folder' | 'file'): Promise<{ resolved: string; stat: Stats }> {
  if (typeof given !== 'string' || given.trim() === '') throw badUserInput(field, `give a ${kind} on the server, inside ${describeRoots(config)}`);
  if (given.includes('\0')) throw badUserInput(field, 'must not contain NUL characters');
  if (given.length > 4096) throw badUserInput(field, `must be at most 4096 characters, got ${given.length}`);
  const absolute = path.resolve(given);
  const refused = () =>
    badUserInput(field, `${absolute} is outside the folders this server may read: ${describeRoots(config)}`, { roots: config.importRoots });
  // Outside the roots as written: refused before the file system is asked (no probing what exists where).
  const roots = await realRoots(config);
  if (!config.importRoots.some((root) => isInside(root, absolute)) && !roots.some((root) => isInside(root, absolute))) throw refused();
  let resolved: string;
  try {
    resolved = await fs.realpath(absolute);
  } catch {
    throw badUserInput(field, `${kind} not found on the server: ${absolute}`);
  }
  // And once symlinks and ".." are resolved.
  if (!roots.some((root) => isInside(root, resolved))) throw refused();
  const stat = await fs.stat(resolved);
  if (kind === 'folder' && !stat.isDirectory()) throw badUserInput(field, `not a folder: ${absolute}`);
  if (kind === 'file' && !stat.isFile()) throw badUserInput(field, `not a regular file: ${absolute}`);
  return { resolved, stat };
}

/** Why a file of an imported folder is not read: an item failure (code and message), never its contents. */
export class UnreadableFile extends Error {
  constructor(
    readonly code: 'NOT_A_FILE' | 'SYMLINK' | 'FILE_TOO_LARGE' | 'OUTSIDE_ROOTS',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a regular file of at most maxBytes, inside `root` (a folder already resolved, as folderInsideRoots
 * returns it): a symlink (as the file, or on its way out of the root), a FIFO, a device or a socket is
 * refused before a byte is read.
 */
export async function readFileSafely(root: string, file: string, maxBytes: number): Promise<Buffer> {
  if (!isInside(root, await fs.realpath(file))) throw new UnreadableFile('OUTSIDE_ROOTS', 'the file resolves to a place outside the imported folder');
  // O_NOFOLLOW: a file swapped for a symlink meanwhile is refused; O_NONBLOCK: opening a FIFO does not wait.
  let handle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new UnreadableFile('SYMLINK', 'a symbolic link: not followed');
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UnreadableFile('NOT_A_FILE', `not a regular file (${kindOf(stat)})`);
    if (stat.size > maxBytes) {
      throw new UnreadableFile('FILE_TOO_LARGE', `${stat.size} bytes, over the limit of ${maxBytes} bytes (MEDPSIM_MAX_UPLOAD_BYTES)`);
    }
    // Exactly the size checked: a file that grows meanwhile is cut there; a /proc file (size 0) reads as empty.
    const bytes = Buffer.alloc(stat.size);
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesRead } = await handle.read(bytes, offset, bytes.length - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return bytes.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

export function kindOf(stat: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean; isSymbolicLink(): boolean; isDirectory(): boolean }): string {
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isBlockDevice() || stat.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}
