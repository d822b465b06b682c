'use strict';
/**
 * Runs the trainer so that it cannot outlive the worker that started it:
 *
 *   node guard.js PROGRAM [ARGS...]
 *
 * The worker (src/training/runner.ts) spawns this script detached, so it leads a process group of its own
 * with the trainer in it, and the worker stops a run by signalling that whole group. A worker that dies
 * without stopping its runs (SIGKILL, a crash) cannot signal anyone; this guard notices instead: its stdin
 * is a pipe from the worker that the worker never writes to, so end-of-file means the worker is gone, and
 * the guard then kills the group at once (SIGKILL: nobody reads what an orphaned trainer would still write,
 * and a grace period would let it write into a folder the next attempt already cleared). Python cannot be
 * asked to watch its parent itself, hence this small process in between.
 *
 * The trainer's stdout and stderr are the guard's own (inherited), so its lines reach the worker directly.
 * The guard exits with the trainer's exit code (128 + signal number when a signal ended it), or 127 with a
 * message on stderr when the program cannot be started (e.g. MEDPSIM_PYTHON names no interpreter).
 * Plain JavaScript, not TypeScript: node runs this file as it is, from the sources or a built server alike.
 */
const { spawn } = require('node:child_process');
const { constants } = require('node:os');

const [program, ...args] = process.argv.slice(2);

function signalGroup(signal) {
  try {
    process.kill(-process.pid, signal); // this process included: a SIGKILL ends the guard too
  } catch {
    // the group is gone already
  }
}

// The worker signals the whole group: the trainer gets the signal too, and the guard waits for it to
// exit so that the worker sees the trainer's own status, instead of exiting first.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => {});

const child = spawn(program, args, { stdio: ['ignore', 'inherit', 'inherit'] });
child.on('error', (error) => {
  process.stderr.write(`cannot start the trainer ${program}: ${error.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));

let orphaned = false;
const parentGone = () => {
  if (orphaned) return;
  orphaned = true;
  process.stderr.write('the worker that started this training is gone: killing the trainer\n');
  signalGroup('SIGKILL');
};
process.stdin.on('end', parentGone);
process.stdin.on('error', parentGone);
process.stdin.resume();
