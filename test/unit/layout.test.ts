import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LayoutError, patientIdFromFileName, scanFolder } from '../../src/datasets/layout';

function tree(files: string[]): string {
  const root = mkdtempSync(path.join(tmpdir(), 'medpsim-layout-'));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), 'x');
  }
  return root;
}

describe('patientIdFromFileName', () => {
  it.each([
    ['person12_bacteria_45.jpeg', 'person12'],
    ['person1_virus_6.jpeg', 'person1'],
    ['train/PNEUMONIA/person1000_bacteria_2931.jpeg', 'person1000'],
    ['IM-0115-0001.jpeg', 'IM-0115'],
    ['NORMAL2-IM-1427-0001.jpeg', 'NORMAL2-IM-1427'],
    ['scan.png', null],
    ['person_without_number.jpeg', null],
  ])('%s -> %s', (name, expected) => {
    expect(patientIdFromFileName(name)).toBe(expected);
  });
});

describe('scanFolder', () => {
  it('reads the Kermany layout with split and label from the folders', async () => {
    const root = tree([
      'train/NORMAL/IM-0001-0001.jpeg',
      'train/PNEUMONIA/person1_bacteria_1.jpeg',
      'test/NORMAL/IM-0002-0001.jpeg',
      'val/PNEUMONIA/person2_virus_3.jpeg',
      'train/.DS_Store',
      'MEDPSIM_SYNTHETIC.json',
    ]);
    const { layout, items } = await scanFolder(root);
    expect(layout).toBe('kermany');
    expect(items).toEqual([
      { path: 'test/NORMAL/IM-0002-0001.jpeg', split: 'test', label: 'NORMAL' },
      { path: 'train/NORMAL/IM-0001-0001.jpeg', split: 'train', label: 'NORMAL' },
      { path: 'train/PNEUMONIA/person1_bacteria_1.jpeg', split: 'train', label: 'PNEUMONIA' },
      { path: 'val/PNEUMONIA/person2_virus_3.jpeg', split: 'val', label: 'PNEUMONIA' },
    ]);
  });

  it('reads class folders and flat folders', async () => {
    const classes = await scanFolder(tree(['NORMAL/a.png', 'PNEUMONIA/b.png']));
    expect(classes.layout).toBe('class-folders');
    expect(classes.items.map((item) => [item.split, item.label])).toEqual([
      [null, 'NORMAL'],
      [null, 'PNEUMONIA'],
    ]);
    const flat = await scanFolder(tree(['a.png', 'notes.txt']));
    expect(flat.layout).toBe('flat');
    expect(flat.items.map((item) => item.path)).toEqual(['a.png', 'notes.txt']); // non-images become failed items
  });

  it('rejects a missing folder and a file', async () => {
    await expect(scanFolder('/nonexistent/medpsim')).rejects.toThrow(LayoutError);
    const root = tree(['a.png']);
    await expect(scanFolder(path.join(root, 'a.png'))).rejects.toThrow('not a folder');
  });
});
