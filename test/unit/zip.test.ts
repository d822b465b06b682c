import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { zipFolder, ZipFolderError } from '../../src/testsets/zip';

interface ZipEntry {
  name: string;
  /** Compression method: 'stored' or 'deflated'. */
  method: string;
  data: Buffer;
}

const hasUnzip = spawnSync('unzip', ['-v']).status === 0;
const hasPython = spawnSync('python3', ['-c', 'import zipfile']).status === 0;

/** The entries of a zip file as an independent tool reads them: Info-ZIP's unzip, else Python's zipfile. */
function readZip(file: string): ZipEntry[] {
  if (hasUnzip) {
    const listed = spawnSync('unzip', ['-Z1', file], { encoding: 'utf8' });
    if (listed.status === 1 && listed.stdout.startsWith('Empty zipfile')) return []; // unzip's warning exit status
    if (listed.status !== 0) throw new Error(`unzip -Z1 failed: ${listed.stdout}${listed.stderr}`);
    const names = listed.stdout.split('\n').filter(Boolean);
    // zipinfo's short listing: permissions, version, os, size, type, method ('stor', 'defN' ...), date, time, name.
    const methods = execFileSync('unzip', ['-Z', '-s', file], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => /^[-d]/.test(line))
      .map((line) => (line.split(/\s+/)[5] === 'stor' ? 'stored' : 'deflated'));
    // -p writes the bytes unchanged (no text conversion); names are patterns to unzip, so wildcards are escaped.
    return names.map((name, i) => ({ name, method: methods[i], data: execFileSync('unzip', ['-p', file, name.replace(/[[*?\\]/g, '\\$&')]) }));
  }
  const script = [
    'import base64, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    "print(json.dumps([[i.filename, 'stored' if i.compress_type == zipfile.ZIP_STORED else 'deflated',",
    '  base64.b64encode(z.read(i)).decode()] for i in z.infolist()]))',
  ].join('\n');
  const rows = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Array<[string, string, string]>;
  return rows.map(([name, method, data]) => ({ name, method, data: Buffer.from(data, 'base64') }));
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'medpsim-zip-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A folder of a few files, their contents by relative path. */
function sampleFolder(): { folder: string; contents: Record<string, Buffer> } {
  const folder = tempDir();
  const noise = Buffer.alloc(50_000);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
  const contents: Record<string, Buffer> = {
    '2afc/val/cnn/judge/000000.npy': Buffer.from('\x93NUMPY fake judgment'),
    '2afc/val/cnn/p0/000000.png': noise,
    '2afc/val/cnn/ref/000000.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]),
    '2afc/val/cnn/ref/000001.png': Buffer.alloc(0),
    '.hidden': Buffer.from('kept too'),
    'README.txt': Buffer.from('line 1\r\nline 2\n'.repeat(100)),
    'a name with spaces [1].txt': Buffer.from('x'),
  };
  for (const [rel, data] of Object.entries(contents)) {
    mkdirSync(path.dirname(path.join(folder, rel)), { recursive: true });
    writeFileSync(path.join(folder, rel), data);
  }
  return { folder, contents };
}

const describeWithTool = hasUnzip || hasPython ? describe : describe.skip;

describeWithTool(`zipFolder (checked with ${hasUnzip ? 'unzip' : 'python3 zipfile'})`, () => {
  it('streams every regular file, sorted, under the root name, with the same bytes', async () => {
    const { folder, contents } = sampleFolder();
    const outside = tempDir();
    writeFileSync(path.join(outside, 'secret.txt'), 'not to be zipped');
    symlinkSync(path.join(outside, 'secret.txt'), path.join(folder, 'link.txt'));
    symlinkSync(outside, path.join(folder, 'linked-folder'));

    const file = path.join(tempDir(), 'out.zip');
    const result = await zipFolder(folder, 'my-test-set', createWriteStream(file));

    const entries = readZip(file);
    const expectedNames = Object.keys(contents).sort().map((rel) => `my-test-set/${rel}`);
    expect(entries.map((entry) => entry.name)).toEqual(expectedNames);
    for (const entry of entries) expect(entry.data.equals(contents[entry.name.slice('my-test-set/'.length)])).toBe(true);
    expect(result).toEqual({ bytes: readFileSync(file).length, files: expectedNames.length });

    const methods = Object.fromEntries(entries.map((entry) => [entry.name, entry.method]));
    expect(methods['my-test-set/2afc/val/cnn/p0/000000.png']).toBe('stored');
    expect(methods['my-test-set/README.txt']).toBe('deflated');
    expect(readFileSync(path.join(folder, 'README.txt')).equals(contents['README.txt'])).toBe(true); // the folder is left as it was
  });

  it('writes a valid empty archive for an empty folder', async () => {
    const file = path.join(tempDir(), 'empty.zip');
    expect(await zipFolder(tempDir(), 'root', createWriteStream(file))).toEqual({ bytes: 22, files: 0 }); // the end record alone
    expect(readZip(file)).toEqual([]);
  });
});

describe('zipFolder errors', () => {
  it('rejects a root name that is not one plain path segment', async () => {
    for (const name of ['', '.', '..', 'a/b', 'a\\b', 'a\0b']) {
      await expect(zipFolder(tempDir(), name, new PassThrough())).rejects.toThrow(ZipFolderError);
    }
  });

  it('rejects a folder that cannot be read', async () => {
    await expect(zipFolder(path.join(tempDir(), 'missing'), 'root', new PassThrough())).rejects.toThrow(/cannot read the folder/);
  });

  it('rejects when the output fails, and leaves the folder alone', async () => {
    const { folder, contents } = sampleFolder();
    const failing = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    failing.on('error', () => undefined); // the stream's own listener; zipFolder reports the error
    await expect(zipFolder(folder, 'root', failing)).rejects.toThrow(/zipping .* failed: disk full/);
    for (const [rel, data] of Object.entries(contents)) expect(readFileSync(path.join(folder, rel)).equals(data)).toBe(true);
  });
});
