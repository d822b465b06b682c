/**
 * Content-addressed blob store: a file named by its SHA-256 is written once, whoever imports it again. The
 * store is private to the server's user (folders 0700, files 0600): the images are patient data.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const HASH = /^[0-9a-f]{64}$/;

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class BlobStore {
  constructor(readonly root: string) {}

  /** Folders this store made or found: one mkdir each per process, not one per blob (bulk imports). */
  private readonly madeFolders = new Set<string>();

  /** Creates the store's folder, private; one made by an older version (0755) is made private too. */
  async open(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fs.chmod(this.root, 0o700);
  }

  pathOf(hash: string, extension = 'png'): string {
    if (!HASH.test(hash)) throw new Error(`not a SHA-256 hex digest: ${hash}`);
    return path.join(this.root, hash.slice(0, 2), hash.slice(2, 4), `${hash}.${extension}`);
  }

  /** Writes atomically (temp file + rename) so a crash never leaves a half-written blob under its name. */
  async put(hash: string, bytes: Buffer, extension = 'png'): Promise<void> {
    const target = this.pathOf(hash, extension);
    if (await this.has(hash, extension)) return;
    const folder = path.dirname(target);
    const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    if (!this.madeFolders.has(folder)) await this.makeFolder(folder);
    try {
      await fs.writeFile(temp, bytes, { mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.makeFolder(folder); // removed behind the store's back since it was made
      await fs.writeFile(temp, bytes, { mode: 0o600 });
    }
    await fs.rename(temp, target);
  }

  private async makeFolder(folder: string): Promise<void> {
    await fs.mkdir(folder, { recursive: true, mode: 0o700 });
    this.madeFolders.add(folder);
  }

  async has(hash: string, extension = 'png'): Promise<boolean> {
    try {
      await fs.access(this.pathOf(hash, extension));
      return true;
    } catch {
      return false;
    }
  }

  read(hash: string, extension = 'png'): Promise<Buffer> {
    return fs.readFile(this.pathOf(hash, extension));
  }
}
