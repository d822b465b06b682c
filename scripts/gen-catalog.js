#!/usr/bin/env node
// Writes the C++ view of the distortion catalog (see src/distortions/native-catalog.ts). Run after a build.
const fs = require('node:fs');
const path = require('node:path');
const { NATIVE_CATALOG_HEADER, renderNativeCatalogHeader } = require('../dist/src/distortions/native-catalog.js');

const target = path.join(__dirname, '..', NATIVE_CATALOG_HEADER);
fs.writeFileSync(target, renderNativeCatalogHeader());
console.log(`wrote ${NATIVE_CATALOG_HEADER}`);
