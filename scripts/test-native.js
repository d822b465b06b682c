#!/usr/bin/env node
// The C++ kernel tests (native/tests) through CMake and ctest. Without cmake they are skipped with a
// message, except in CI, where they must run.
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

if (spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0) {
  if (process.env.CI) throw new Error('cmake is required for the native kernel tests in CI');
  console.warn('medpsim: cmake not found: the C++ kernel tests (ctest) are SKIPPED; install cmake to run them');
  process.exit(0);
}
run('cmake', ['-S', 'native', '-B', 'build/kernels', '-DCMAKE_BUILD_TYPE=Release']);
run('cmake', ['--build', 'build/kernels', '-j', '2']);
run('ctest', ['--test-dir', 'build/kernels', '--output-on-failure']);
