import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MODULES } from '../../src/modules';
import { ACCESS_TABLE_FILE, withAccessTable } from '../../src/server/access-table';

it('README.md shows the current access rules (run `npm run gen:access` after changing one)', async () => {
  const readme = readFileSync(path.join(__dirname, '..', '..', ACCESS_TABLE_FILE), 'utf8');
  expect(await withAccessTable(readme, MODULES)).toBe(readme);
});
