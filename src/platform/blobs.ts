/** Content-addressed blob store: a file named by its SHA-256 is written once, whoever imports it again. */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const HASH = /^[0-9a-f]{64}$/;

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class BlobStore {
  constructor(readonly root: string) {}

  pathOf(hash: string, extension = 'png'): string {
    if (!HASH.test(hash)) throw new Error(`not a SHA-256 hex digest: ${hash}`);
    return path.join(this.root, hash.slice(0, 2), hash.slice(2, 4), `${hash}.${extension}`);
  }

  /** Writes atomically (temp file + rename) so a crash never leaves a half-written blob under its name. */
  async put(hash: string, bytes: Buffer, extension = 'png'): Promise<void> {
    const target = this.pathOf(hash, extension);
    if (await this.has(hash, extension)) return;
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(temp, bytes);
    await fs.rename(temp, target);
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
