#!/usr/bin/env node
// Writes the C++ headers and the Markdown pages generated from the distortion and metric catalogs (see
// src/distortions/native-catalog.ts and src/metrics/native-catalog.ts) and the zoo's knobs
// (src/training/zoo-doc.ts). Run after a build.
const fs = require('node:fs');
const path = require('node:path');
const generated = require('../dist/src/distortions/native-catalog.js');
const metrics = require('../dist/src/metrics/native-catalog.js');
const zoo = require('../dist/src/training/zoo-doc.js');

for (const [file, render] of [
  [generated.NATIVE_CATALOG_HEADER, generated.renderNativeCatalogHeader],
  [generated.CATALOG_DOC, generated.renderCatalogMarkdown],
  [metrics.NATIVE_METRICS_HEADER, metrics.renderNativeMetricsHeader],
  [metrics.METRICS_DOC, metrics.renderMetricsMarkdown],
  [zoo.ZOO_DOC, zoo.renderZooMarkdown],
]) {
  fs.mkdirSync(path.dirname(path.join(__dirname, '..', file)), { recursive: true });
  fs.writeFileSync(path.join(__dirname, '..', file), render());
  console.log(`wrote ${file}`);
}
