/** The built server (dist/) as a child process, as a user runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface Child {
  process: ChildProcess;
  output(): string;
  /** Resolves with the first match of pattern in the output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

const running = new Set<Child>();

/**
 * Stops every child still running (a test that failed half-way): SIGINT first, so a server stops its
 * embedded PostgreSQL, then SIGKILL after 10 s. Call it from afterAll.
 */
export async function stopProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      child.process.kill('SIGINT');
      const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
      await child.exited;
      clearTimeout(timer);
    }),
  );
}

export function startProcess(script: string, args: string[], env: Record<string, string | undefined>): Child {
  // Without jest's NODE_ENV=test, which changes how libraries behave (Apollo's signal handling, say).
  const merged: NodeJS.ProcessEnv = { ...process.env };
  delete merged.NODE_ENV;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name]; // spawn would pass the string "undefined"
    else merged[name] = value;
  }
  const child = spawn(process.execPath, [script, ...args], {
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: Child = {
    process: child,
    output: () => output,
    exited,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = output.match(pattern);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${pattern}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${output}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Processes of the group that are alive (zombies left to an init that does not reap them do not count). */
export function liveGroupMembers(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(group) === pgid && state !== 'Z') live.push(Number(entry));
  }
  return live;
}

/** Live processes with a command-line argument that starts with `prefix` (e.g. a trainer's --name), from /proc. */
export function processesWith(prefix: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').some((arg) => arg.startsWith(prefix))) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/**
 * Stops the process (SIGSTOP) and resolves once every one of its threads is stopped (Linux /proc), so that
 * it runs no more code until thaw() or a SIGKILL: what it had written stays as it was, to be looked at.
 */
export async function freeze(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const pid = child.pid!;
  child.kill('SIGSTOP'); // kill(2) returns once the signal is queued, not once every thread has stopped
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let states: string[];
    try {
      states = readdirSync(`/proc/${pid}/task`).map((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      });
    } catch {
      throw new Error(`process ${pid} exited before it could be frozen`);
    }
    if (states.every((state) => state === 'T' || state === 't')) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} not stopped after ${timeoutMs} ms (thread states ${states.join('')})`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Lets a frozen process run again. */
export function thaw(child: ChildProcess): void {
  child.kill('SIGCONT');
}

/** Runs the CLI against a server with a token, to its end: its exit code and everything it printed. */
export async function runCli(server: { url: string; token: string }, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const child = startProcess(CLI, args, { MEDPSIM_URL: server.url, MEDPSIM_TOKEN: server.token, ...env });
  const code = await child.exited;
  return { code, output: child.output() };
}
