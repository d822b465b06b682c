/**
 * The trainer process, with shell scripts standing in for Python: JSON lines, stderr, exit codes, a
 * program that cannot start, stopping a group that ignores SIGTERM, and the guard stopping the trainer
 * when the process that started it is SIGKILLed.
 */
import { spawn } from 'node:child_process';
import { liveGroupMembers } from '../helpers/processes';
import path from 'node:path';
import { failureMessage } from '../../src/training/jobs';
import { packageRoot } from '../../src/platform/paths';
import { startTrainer, type TrainerEvent } from '../../src/training/runner';


async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

const sh = (script: string) => ({ program: '/bin/sh', args: ['-c', script], cwd: process.cwd() });

it('passes JSON lines on, keeps stderr and non-JSON lines, and reports the exit', async () => {
  const events: TrainerEvent[] = [];
  const trainer = startTrainer(
    sh(`echo '{"event":"start","device":"cpu"}'; echo 'not json'; echo 'Traceback: boom' >&2;
        echo '{"event":"error","message":"no PNG/JPEG images found in /x","kind":"DataError"}'; exit 2`),
    (event) => events.push(event),
  );
  const exit = await trainer.exited;
  expect(events.map((event) => event.event)).toEqual(['start', 'error']);
  expect(exit).toMatchObject({ code: 2, error: 'no PNG/JPEG images found in /x', done: null });
  expect(exit.log).toEqual(expect.arrayContaining(['not json', 'Traceback: boom']));
  expect(failureMessage(exit)).toBe('no PNG/JPEG images found in /x');
});

it('reports a "done" line and exit code 0', async () => {
  const exit = await startTrainer(sh(`echo '{"event":"done","files":{"onnx":"/o/m.onnx"}}'`), () => {}).exited;
  expect(exit).toMatchObject({ code: 0, error: null, done: { event: 'done', files: { onnx: '/o/m.onnx' } } });
});

it('ends without an error line: the message is the end of stderr', async () => {
  const exit = await startTrainer(sh(`echo 'Killed: out of memory' >&2; exit 1`), () => {}).exited;
  expect(failureMessage(exit)).toBe('the trainer exited with code 1: Killed: out of memory');
});

it('reports a program that cannot be started (MEDPSIM_PYTHON wrong)', async () => {
  const exit = await startTrainer({ program: '/nonexistent/python3', args: ['-m', 'x'], cwd: process.cwd() }, () => {}).exited;
  expect(exit.code).toBe(127);
  expect(failureMessage(exit)).toMatch(/^the trainer could not be started: cannot start the trainer \/nonexistent\/python3: .*ENOENT/);
});

it('stops the whole group, with SIGKILL when SIGTERM is ignored', async () => {
  const trainer = startTrainer(sh(`trap '' TERM; echo '{"event":"start"}'; sleep 30 & wait; sleep 30`), () => {});
  await waitUntil(() => liveGroupMembers(trainer.pid).length >= 3, 5000); // guard, sh, sleep
  const started = Date.now();
  const exit = await trainer.stop(300);
  expect(exit.code).toBe(128 + 9);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(liveGroupMembers(trainer.pid)).toEqual([]);
});

it('stops the trainer when the process that started it is SIGKILLed', async () => {
  // A stand-in for a worker: starts the guard the way runner.ts does and prints the group id.
  const guard = path.join(packageRoot(), 'src', 'training', 'guard.js');
  const worker = spawn(
    process.execPath,
    [
      '-e',
      `const child = require('node:child_process').spawn(process.execPath, [${JSON.stringify(guard)}, '/bin/sh', '-c', 'sleep 60 & wait'],
         { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
       console.log(child.pid);
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pgid = await new Promise<number>((resolve) => worker.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))));
  expect(await waitUntil(() => liveGroupMembers(pgid).length >= 3, 5000)).toBe(true);
  worker.kill('SIGKILL');
  expect(await waitUntil(() => liveGroupMembers(pgid).length === 0, 5000)).toBe(true);
});
