import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bappsPaths, BappsLayoutError, readBappsFolder, safeFolderName } from '../../src/testsets/bapps-folder';

const roots: string[] = [];

/** A temporary folder holding the given files (the lister reads no contents, so they hold a byte each). */
function tree(files: string[]): string {
  const root = mkdtempSync(path.join(tmpdir(), 'medpsim-bapps-'));
  roots.push(root);
  for (const rel of files) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), 'x');
  }
  return root;
}

/** The files of complete 2AFC items (ref, p0, p1 and judge) named as given, in one category folder. */
function twoAfc(dir: string, ...names: string[]): string[] {
  return names.flatMap((name) => [`${dir}/ref/${name}.png`, `${dir}/p0/${name}.png`, `${dir}/p1/${name}.png`, `${dir}/judge/${name}.npy`]);
}

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('readBappsFolder', () => {
  it('lists 2AFC and JND items with absolute paths, sorted by kind, split, category and name', async () => {
    const root = tree([
      ...twoAfc('2afc/val/cnn', '000001', '000000'),
      ...twoAfc('2afc/train/mix', 'a'),
      'jnd/val/traditional/p0/000000.png',
      'jnd/val/traditional/p1/000000.png',
      'jnd/val/traditional/same/000000.npy',
    ]);
    const listing = await readBappsFolder(root);
    expect(listing.problems).toEqual([]);
    expect(listing.items.map((item) => `${item.kind} ${item.split} ${item.category} ${item.name}`)).toEqual([
      'TWO_AFC train mix a',
      'TWO_AFC val cnn 000000',
      'TWO_AFC val cnn 000001',
      'JND val traditional 000000',
    ]);
    expect(listing.items[1]).toEqual({
      kind: 'TWO_AFC',
      split: 'val',
      category: 'cnn',
      name: '000000',
      files: {
        ref: path.join(root, '2afc/val/cnn/ref/000000.png'),
        p0: path.join(root, '2afc/val/cnn/p0/000000.png'),
        p1: path.join(root, '2afc/val/cnn/p1/000000.png'),
      },
      judgment: path.join(root, '2afc/val/cnn/judge/000000.npy'),
    });
    expect(listing.items[3]).toEqual({
      kind: 'JND',
      split: 'val',
      category: 'traditional',
      name: '000000',
      files: { p0: path.join(root, 'jnd/val/traditional/p0/000000.png'), p1: path.join(root, 'jnd/val/traditional/p1/000000.png') },
      judgment: path.join(root, 'jnd/val/traditional/same/000000.npy'),
    });
  });

  it('accepts .png, .jpg and .jpeg in any case, pairs them by name, and skips hidden files', async () => {
    const root = tree([
      '2afc/val/cnn/ref/x.JPG',
      '2afc/val/cnn/p0/x.jpeg',
      '2afc/val/cnn/p1/x.Png',
      '2afc/val/cnn/judge/x.npy',
      '2afc/val/cnn/p0/.DS_Store',
      '2afc/val/cnn/.hidden/anything',
      '.git/config',
    ]);
    const listing = await readBappsFolder(root);
    expect(listing.problems).toEqual([]);
    expect(listing.items).toHaveLength(1);
    expect(listing.items[0].files).toEqual({
      ref: path.join(root, '2afc/val/cnn/ref/x.JPG'),
      p0: path.join(root, '2afc/val/cnn/p0/x.jpeg'),
      p1: path.join(root, '2afc/val/cnn/p1/x.Png'),
    });
  });

  it('lists only complete items and reports each file of the others', async () => {
    const root = tree([
      ...twoAfc('2afc/val/cnn', 'a', 'c'),
      // b has no p1
      '2afc/val/cnn/ref/b.png',
      '2afc/val/cnn/p0/b.png',
      '2afc/val/cnn/judge/b.npy',
      // an extra file in p0 only, a file that is no image, the same name twice
      '2afc/val/cnn/p0/d.png',
      '2afc/val/cnn/p0/notes.txt',
      '2afc/val/cnn/p1/c.jpg',
    ]);
    const listing = await readBappsFolder(root);
    expect(listing.items.map((item) => item.name)).toEqual(['a', 'c']);
    expect(listing.items[1].files.p1).toBe(path.join(root, '2afc/val/cnn/p1/c.jpg')); // sorted first: .jpg before .png
    expect(listing.problems).toEqual([
      { path: '2afc/val/cnn/judge/b.npy', reason: 'no matching b.* in p1 (files are paired by name)' },
      { path: '2afc/val/cnn/p0/b.png', reason: 'no matching b.* in p1 (files are paired by name)' },
      { path: '2afc/val/cnn/p0/d.png', reason: 'no matching d.* in ref, p1, judge (files are paired by name)' },
      { path: '2afc/val/cnn/p0/notes.txt', reason: 'not a .png, .jpg, .jpeg file' },
      { path: '2afc/val/cnn/p1/c.png', reason: 'same name as c.jpg (one of them is used)' },
      { path: '2afc/val/cnn/ref/b.png', reason: 'no matching b.* in p1 (files are paired by name)' },
    ]);
  });

  it('reports symbolic links and does not follow them', async () => {
    const outside = tree(['p1/a.png', ...twoAfc('cat', 'z')]);
    const root = tree([...twoAfc('2afc/val/cnn', 'a', 'b').filter((file) => file !== '2afc/val/cnn/p1/a.png')]);
    symlinkSync(path.join(outside, 'p1/a.png'), path.join(root, '2afc/val/cnn/p1/a.png'));
    symlinkSync(path.join(outside, 'cat'), path.join(root, '2afc/val/linked'));
    const listing = await readBappsFolder(root);
    expect(listing.items.map((item) => `${item.category} ${item.name}`)).toEqual(['cnn b']);
    expect(listing.problems).toEqual([
      { path: '2afc/val/cnn/judge/a.npy', reason: 'no matching a.* in p1 (files are paired by name)' },
      { path: '2afc/val/cnn/p0/a.png', reason: 'no matching a.* in p1 (files are paired by name)' },
      { path: '2afc/val/cnn/p1/a.png', reason: 'symbolic link (not followed)' },
      { path: '2afc/val/cnn/ref/a.png', reason: 'no matching a.* in p1 (files are paired by name)' },
      { path: '2afc/val/linked', reason: 'symbolic link (not followed)' },
    ]);
  });

  it('reports a missing folder and entries that are not part of the layout', async () => {
    const root = tree([
      ...twoAfc('2afc/val/cnn', 'a'),
      '2afc/val/nojudge/ref/a.png',
      '2afc/val/nojudge/p0/a.png',
      '2afc/val/nojudge/p1/a.png',
      '2afc/val/cnn/extra/a.png',
      '2afc/val/cnn/p0/deeper/a.png',
      '2afc/readme.txt',
      'README.md',
      'images/a.png',
    ]);
    const listing = await readBappsFolder(root);
    expect(listing.items.map((item) => `${item.category} ${item.name}`)).toEqual(['cnn a']);
    expect(listing.problems).toEqual([
      { path: '2afc/readme.txt', reason: 'a file where split folders are expected' },
      { path: '2afc/val/cnn/extra', reason: 'not part of the layout (ref, p0, p1, judge are)' },
      { path: '2afc/val/cnn/p0/deeper', reason: 'a folder inside an image or judgment folder (not read)' },
      { path: '2afc/val/nojudge/judge', reason: 'missing folder: no item of this category can be complete' },
      { path: 'README.md', reason: 'not part of the BAPPS layout (2afc/ and jnd/ are)' },
      { path: 'images', reason: 'not part of the BAPPS layout (2afc/ and jnd/ are)' },
    ]);
  });

  it('throws BappsLayoutError for a root without 2afc/ or jnd/, or that is no folder', async () => {
    const root = tree(['images/a.png', 'jnd.txt']);
    await expect(readBappsFolder(root)).rejects.toThrow(BappsLayoutError);
    await expect(readBappsFolder(root)).rejects.toThrow(/expected a folder 2afc\/ .* or jnd\//);
    await expect(readBappsFolder(path.join(root, 'missing'))).rejects.toThrow(/is not a folder/);
    await expect(readBappsFolder(path.join(root, 'jnd.txt'))).rejects.toThrow(BappsLayoutError);
  });

  it('throws BappsLayoutError past maxItems', async () => {
    const root = tree(twoAfc('2afc/val/cnn', 'a', 'b', 'c'));
    await expect(readBappsFolder(root, { maxItems: 3 })).resolves.toMatchObject({ items: { length: 3 } });
    await expect(readBappsFolder(root, { maxItems: 2 })).rejects.toThrow(/more than 2 items/);
  });
});

describe('bappsPaths', () => {
  it('gives the relative paths of item index, zero-padded to 6 digits', () => {
    expect(bappsPaths('TWO_AFC', 'val', 'cnn', 3)).toEqual({
      ref: '2afc/val/cnn/ref/000003.png',
      p0: '2afc/val/cnn/p0/000003.png',
      p1: '2afc/val/cnn/p1/000003.png',
      judgment: '2afc/val/cnn/judge/000003.npy',
    });
    expect(bappsPaths('JND', 'val', 'cnn', 123456)).toEqual({
      p0: 'jnd/val/cnn/p0/123456.png',
      p1: 'jnd/val/cnn/p1/123456.png',
      judgment: 'jnd/val/cnn/same/123456.npy',
    });
  });

  it('rejects unsafe split and category names and indexes that do not fit 6 digits', () => {
    for (const name of ['', '..', '.hidden', 'a/b', 'a b', '_x', 'é', 'x'.repeat(65)]) {
      expect(() => bappsPaths('TWO_AFC', name, 'cnn', 0)).toThrow(BappsLayoutError);
      expect(() => bappsPaths('JND', 'val', name, 0)).toThrow(BappsLayoutError);
    }
    expect(bappsPaths('JND', 'Val-2.x', 'x'.repeat(64), 0).p0).toBe(`jnd/Val-2.x/${'x'.repeat(64)}/p0/000000.png`);
    for (const index of [-1, 1.5, 1_000_000, Number.NaN]) expect(() => bappsPaths('JND', 'val', 'cnn', index)).toThrow(BappsLayoutError);
  });

  it('writes folders that readBappsFolder lists as the same items', async () => {
    // In listing order: 2AFC before JND, then split, category and name.
    const written = [
      ...[0, 1].map((index) => ({ kind: 'TWO_AFC' as const, split: 'train', category: 'nodule', index })),
      ...[0, 1, 2].map((index) => ({ kind: 'TWO_AFC' as const, split: 'val', category: 'effusion', index })),
      ...[0, 10].map((index) => ({ kind: 'JND' as const, split: 'val', category: 'effusion', index })),
    ];
    const root = tree(written.flatMap(({ kind, split, category, index }) => Object.values(bappsPaths(kind, split, category, index))));
    const listing = await readBappsFolder(root);
    expect(listing.problems).toEqual([]);
    const at = (rel: string) => path.join(root, rel);
    expect(listing.items).toEqual(
      written.map(({ kind, split, category, index }) => {
        const { ref, p0, p1, judgment } = bappsPaths(kind, split, category, index);
        const files = ref ? { ref: at(ref), p0: at(p0), p1: at(p1) } : { p0: at(p0), p1: at(p1) };
        return { kind, split, category, name: String(index).padStart(6, '0'), files, judgment: at(judgment) };
      }),
    );
  });
});

describe('safeFolderName', () => {
  it('turns any text into a safe folder name', () => {
    expect(safeFolderName('Pleural Effusion (left)')).toBe('pleural_effusion_left');
    expect(safeFolderName('  Pneumothorax  ')).toBe('pneumothorax');
    expect(safeFolderName('Épanchement pleural')).toBe('epanchement_pleural');
    expect(safeFolderName('../etc/passwd')).toBe('etc_passwd');
    expect(safeFolderName('cnn')).toBe('cnn');
    expect(safeFolderName('v1.2-beta_x')).toBe('v1.2-beta_x');
    expect(safeFolderName('')).toBe('uncategorized');
    expect(safeFolderName('???')).toBe('uncategorized');
    expect(safeFolderName('肺')).toBe('uncategorized');
  });

  it('always gives a name bappsPaths accepts, at most 64 characters', () => {
    for (const text of ['a'.repeat(100), `${'a'.repeat(63)}...b`, '.x', '-_-x-_-', 'A\u0000B', '\u{1F600} smile', '..']) {
      const name = safeFolderName(text);
      expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
      expect(() => bappsPaths('JND', 'val', name, 0)).not.toThrow();
    }
    expect(safeFolderName(`${'a'.repeat(63)}...b`)).toBe('a'.repeat(63));
  });
});
