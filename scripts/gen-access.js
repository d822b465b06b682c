#!/usr/bin/env node
// Writes the table of operations and roles into README.md (src/server/access-table.ts). Run after a build.
require('reflect-metadata');
const fs = require('node:fs');
const path = require('node:path');
const { withAccessTable, ACCESS_TABLE_FILE } = require('../dist/src/server/access-table.js');
const { MODULES } = require('../dist/src/modules.js');

(async () => {
  const file = path.join(__dirname, '..', ACCESS_TABLE_FILE);
  fs.writeFileSync(file, await withAccessTable(fs.readFileSync(file, 'utf8'), MODULES));
  console.log(`wrote the access table in ${ACCESS_TABLE_FILE}`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
