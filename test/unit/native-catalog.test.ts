import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NATIVE_CATALOG_HEADER, renderNativeCatalogHeader } from '../../src/distortions/native-catalog';

it('the native engine reads the current catalog (run `npm run gen:catalog` after changing it)', () => {
  const committed = readFileSync(path.join(__dirname, '..', '..', NATIVE_CATALOG_HEADER), 'utf8');
  expect(committed).toBe(renderNativeCatalogHeader());
});
