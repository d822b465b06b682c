import { mkdtempSync, promises as fs, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobStore, sha256 } from '../../src/platform/blobs';

describe('BlobStore', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'medpsim-blobs-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  async function openStore(): Promise<BlobStore> {
    const store = new BlobStore(root);
    await store.open();
    return store;
  }

  it('writes a blob once under its hash, private, and leaves no temp file', async () => {
    const store = await openStore();
    const bytes = Buffer.from('pixels');
    const hash = sha256(bytes);
    await store.put(hash, bytes);
    await store.put(hash, Buffer.from('other bytes are not written over the first'));
    expect(await store.read(hash)).toEqual(bytes);
    expect(statSync(store.pathOf(hash)).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(store.pathOf(hash))).mode & 0o777).toBe(0o700);
    expect(await fs.readdir(path.dirname(store.pathOf(hash)))).toEqual([`${hash}.png`]);
  });

  it('makes a folder again when it was removed after the store made it', async () => {
    const store = await openStore();
    const bytes = Buffer.from('a');
    const hash = sha256(bytes);
    await store.put(hash, bytes);
    rmSync(path.join(root, hash.slice(0, 2)), { recursive: true });
    await store.put(hash, bytes); // the store made that folder before: it must notice that it is gone
    expect(await store.read(hash)).toEqual(bytes);
  });
});
