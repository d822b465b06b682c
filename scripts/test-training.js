#!/usr/bin/env node
// The Python training package's tests (training/tests, unittest) with the interpreter that has PyTorch
// (MEDPSIM_PYTHON, default /usr/bin/python3: Debian's python3-torch installs there). Without torch they
// are skipped with a message, except in CI, where .ci/run installs it and they must run.
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');

const python = process.env.MEDPSIM_PYTHON || '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' });
if (probe.status !== 0) {
  const why = `${python} cannot import torch, torchvision and onnx`;
  if (process.env.CI) throw new Error(`${why}; the training tests must run in CI (.ci/run installs them)`);
  console.warn(`medpsim: ${why}: the training tests are SKIPPED; install python3-torch python3-torchvision python3-onnx to run them`);
  process.exit(0);
}
execFileSync(python, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {
  cwd: path.join(__dirname, '..', 'training'),
  stdio: 'inherit',
  env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
});
