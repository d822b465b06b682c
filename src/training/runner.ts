/**
 * The trainer as a child process: started through guard.js in a process group of its own, its stdout read
 * as JSON lines (training/README.md "Logs and exit codes"), the last lines of its stderr kept for errors,
 * and stopped by signalling the whole group: SIGTERM, then SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../platform/paths';

/** One line of the trainer's stdout: start, epoch, progress, metrics, warning, done or error. */
export interface TrainerEvent {
  event: string;
  [field: string]: unknown;
}

export interface TrainerExit {
  /** The trainer's exit code; 128 + n when signal n ended it; 127 when it could not be started. */
  code: number | null;
  /** The message of its last "error" line, if it wrote one. */
  error: string | null;
  /** Its "done" line, if it wrote one. */
  done: TrainerEvent | null;
  /** The last lines of stderr (and any stdout line that was not JSON). */
  log: string[];
}

export interface TrainerProcess {
  /** The guard's pid, which is also the process group id of the guard and the trainer. */
  pid: number;
  exited: Promise<TrainerExit>;
  /** SIGTERM to the group, SIGKILL after graceMs; resolves once the trainer has exited. */
  stop(graceMs?: number): Promise<TrainerExit>;
}

export interface TrainerCommand {
  program: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

const LOG_LINES = 50;
export const STOP_GRACE_MS = 10_000;

export function startTrainer(command: TrainerCommand, onEvent: (event: TrainerEvent) => void): TrainerProcess {
  // The guard runs from the sources, also for a built server (it is plain JavaScript).
  const guard = path.join(packageRoot(), 'src', 'training', 'guard.js');
  const child = spawn(process.execPath, [guard, command.program, ...command.args], {
    cwd: command.cwd,
    env: { ...(command.env ?? process.env), PYTHONUNBUFFERED: '1' },
    // stdin: the pipe whose end tells the guard that this process is gone (never written to).
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // a new process group, led by the guard: one signal reaches the trainer and the guard
  });
  child.stdin!.on('error', () => {}); // EPIPE once the guard has exited: nothing to report

  const log: string[] = [];
  const keep = (line: string) => {
    log.push(line);
    if (log.length > LOG_LINES) log.shift();
  };
  let error: string | null = null;
  let done: TrainerEvent | null = null;

  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: TrainerEvent;
    try {
      event = JSON.parse(line);
    } catch {
      keep(line); // stdout should carry JSON only; keep anything else for the error message
      return;
    }
    if (typeof event !== 'object' || event === null || typeof event.event !== 'string') return keep(line);
    if (event.event === 'error') error = String(event.message ?? 'error');
    if (event.event === 'done') done = event;
    onEvent(event);
  });
  createInterface({ input: child.stderr! }).on('line', keep);

  // "close" comes after the exit and the end of both pipes, so every line has been read by then.
  let closed = false;
  const exited = new Promise<TrainerExit>((resolve) => {
    child.once('error', (spawnError) => {
      // The guard itself could not start (node is there, so hardly ever): no process, no "close".
      if (child.pid === undefined) {
        closed = true;
        resolve({ code: 127, error: `cannot start the trainer: ${spawnError.message}`, done: null, log });
      }
    });
    child.once('close', (code, signal) => {
      closed = true;
      resolve({ code: code ?? 128 + signalNumber(signal), error, done, log });
    });
  });

  // While the group may still exist: after "close" its id could belong to another group one day.
  const signalGroup = (signal: NodeJS.Signals) => {
    if (closed || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // gone already
    }
  };

  let stopped: Promise<TrainerExit> | null = null; // asked to stop once; later calls wait for the same exit
  return {
    pid: child.pid ?? -1,
    exited,
    stop(graceMs = STOP_GRACE_MS) {
      stopped ??= (async () => {
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
        const exit = await exited;
        clearTimeout(timer);
        return exit;
      })();
      return stopped;
    },
  };
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
