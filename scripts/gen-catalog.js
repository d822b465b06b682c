#!/usr/bin/env node
// Writes the C++ header and the Markdown page generated from the distortion catalog (see
// src/distortions/native-catalog.ts). Run after a build.
const fs = require('node:fs');
const path = require('node:path');
const generated = require('../dist/src/distortions/native-catalog.js');

for (const [file, render] of [
  [generated.NATIVE_CATALOG_HEADER, generated.renderNativeCatalogHeader],
  [generated.CATALOG_DOC, generated.renderCatalogMarkdown],
]) {
  fs.mkdirSync(path.dirname(path.join(__dirname, '..', file)), { recursive: true });
  fs.writeFileSync(path.join(__dirname, '..', file), render());
  console.log(`wrote ${file}`);
}
