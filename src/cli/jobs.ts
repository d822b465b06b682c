/** `medpsim job`, and following a job's progress (a subscription) with a progress bar, for every command. */
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { request, serverOf, serverOptions, subscribe, type Server } from './client';

export const JOB_FIELDS = `id kind state total done skipped failed progress error elapsedSeconds`;

export interface JobView {
  id: string;
  kind: string;
  state: string;
  total: number | null;
  done: number;
  skipped: number;
  failed: number;
  error: string | null;
  elapsedSeconds: number | null;
}

/** What the CLI says when a job sits still: a queued job nobody takes, a running one without progress. */
const QUIET_QUEUED_MS = 5000;
const QUIET_RUNNING_MS = 30_000;

/** Follows the job to its end (a bar on stderr when showBar); returns its last state. */
export async function followJob(server: Server, jobId: string, showBar: boolean, unit = 'items'): Promise<JobView> {
  const bar = showBar
    ? new SingleBar({ format: `{kind} [{bar}] {percentage}% {value}/{total} ${unit} | {failed} failed | {state}`, hideCursor: true }, Presets.shades_classic)
    : null;
  let started = false;
  let last: JobView | null = null;
  let changedAt = Date.now();
  let said = '';
  const say = (text: string) => {
    if (said === text) return;
    said = text;
    if (bar && started) bar.stop();
    console.error(text);
    started = false;
  };
  const quiet = setInterval(() => {
    const still = Date.now() - changedAt;
    if (last?.state === 'QUEUED' && still > QUIET_QUEUED_MS) {
      say(`waiting for a worker to take job ${jobId} (is a worker running? MEDPSIM_ROLE=api serves but runs no jobs)`);
    } else if (last?.state === 'RUNNING' && still > QUIET_RUNNING_MS) {
      say(`no progress for ${Math.round(still / 1000)} s: if a worker stopped, its work is handed to another within MEDPSIM_JOB_EXPIRE_SECONDS`);
    }
  }, 1000);
  quiet.unref();
  try {
    for await (const { jobProgress } of subscribe<{ jobProgress: JobView }>(server, `subscription ($id: ID!) { jobProgress(id: $id) { ${JOB_FIELDS} } }`, {
      id: jobId,
    })) {
      const value = jobProgress.done + jobProgress.skipped + jobProgress.failed;
      if (!last || last.state !== jobProgress.state || value !== last.done + last.skipped + last.failed) changedAt = Date.now();
      last = jobProgress;
      if (bar && jobProgress.total !== null) {
        const payload = { failed: jobProgress.failed, state: jobProgress.state, kind: jobProgress.kind.toLowerCase() };
        if (!started) bar.start(jobProgress.total, value, payload);
        else bar.update(value, payload);
        started = true;
      }
    }
  } finally {
    clearInterval(quiet);
    bar?.stop();
  }
  if (!last) throw new Error(`job ${jobId} sent no progress`);
  return last;
}

export function jobSummary(job: JobView): string {
  const rate = job.elapsedSeconds ? ` in ${job.elapsedSeconds.toFixed(1)} s` : '';
  const error = job.error ? `: ${job.error}` : '';
  const done = job.kind === 'IMPORT' ? `${job.done} imported, ${job.skipped} already there` : `${job.done} done, ${job.skipped} skipped`;
  return `job ${job.id} ${job.state}${error}: ${done}, ${job.failed} failed${rate}`;
}

export function registerJobCommand(program: Command): void {
  serverOptions(program.command('job'))
    .description('show a job; with --watch, follow it until it ends')
    .argument('<id>')
    .option('--watch', 'follow progress')
    .action(async (id: string, options) => {
      const server = serverOf(options);
      const job = options.watch
        ? await followJob(server, id, process.stderr.isTTY === true)
        : (await request<{ job: JobView }>(server, `query ($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id })).job;
      console.log(jobSummary(job));
    });
}
