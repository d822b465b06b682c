import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CATALOG_DOC, NATIVE_CATALOG_HEADER, renderCatalogMarkdown, renderNativeCatalogHeader } from '../../src/distortions/native-catalog';
import { METRICS_DOC, NATIVE_METRICS_HEADER, renderMetricsMarkdown, renderNativeMetricsHeader } from '../../src/metrics/native-catalog';
import { renderZooMarkdown, ZOO_DOC } from '../../src/training/zoo-doc';

const committed = (file: string) => readFileSync(path.join(__dirname, '..', '..', file), 'utf8');

it('the native engine and the docs read the current catalogs (run `npm run gen:catalog` after changing one)', () => {
  expect(committed(NATIVE_CATALOG_HEADER)).toBe(renderNativeCatalogHeader());
  expect(committed(CATALOG_DOC)).toBe(renderCatalogMarkdown());
  expect(committed(NATIVE_METRICS_HEADER)).toBe(renderNativeMetricsHeader());
  expect(committed(METRICS_DOC)).toBe(renderMetricsMarkdown());
  expect(committed(ZOO_DOC)).toBe(renderZooMarkdown());
});
