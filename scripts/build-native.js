#!/usr/bin/env node
// Builds the native distortion engine on `npm install`: with cmake-js (the build of record; CUDA kernels
// where nvcc exists) when cmake is installed, else the CPU-only addon with node-gyp from binding.gyp.
// Both read native/sources.json. MEDPSIM_NATIVE_BUILD=cmake|gyp forces one.
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');

function hasCmake() {
  return spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(command, args) {
  execFileSync(command, args, { cwd: root, stdio: 'inherit' });
}

const forced = process.env.MEDPSIM_NATIVE_BUILD;
if (forced === 'cmake' || (!forced && hasCmake())) {
  run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--out', 'build']);
} else {
  console.warn('medpsim: cmake not found; building the CPU-only engine with node-gyp (binding.gyp)');
  // npm tells its lifecycle scripts where its bundled node-gyp is; outside npm, npx fetches one.
  const nodeGyp = process.env.npm_config_node_gyp;
  if (nodeGyp) run(process.execPath, [nodeGyp, 'rebuild']);
  else run('npx', ['--yes', 'node-gyp', 'rebuild']);
}
