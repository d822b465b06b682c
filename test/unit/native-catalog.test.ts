import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CATALOG_DOC, NATIVE_CATALOG_HEADER, renderCatalogMarkdown, renderNativeCatalogHeader } from '../../src/distortions/native-catalog';

const committed = (file: string) => readFileSync(path.join(__dirname, '..', '..', file), 'utf8');

it('the native engine and the docs read the current catalog (run `npm run gen:catalog` after changing it)', () => {
  expect(committed(NATIVE_CATALOG_HEADER)).toBe(renderNativeCatalogHeader());
  expect(committed(CATALOG_DOC)).toBe(renderCatalogMarkdown());
});
