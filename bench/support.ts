/** What the benchmarks share: options, a database of their own, waiting for a job, CPU times from /proc. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import type { App } from '../src/platform/app';

/** --name <positive number>, or the fallback. */
export function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} takes a positive number, got ${process.argv[index + 1]}`);
  return value;
}

export const flag = (name: string) => process.argv.includes(`--${name}`);

/** --name <text>, or undefined. */
export function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** A database of its own: a new one on the server DATABASE_URL names (dropped at the end), or none (embedded). */
export async function ownDatabase(): Promise<{ url: string | null; drop(): Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return { url: null, drop: async () => {} };
  const name = `medpsim_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Polls until the job has completed with no failed item (anything else throws). Its SQL is marked `/* bench *\/`. */
export async function waitForJob(app: App, jobId: string, timeoutMs = 600_000, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await app.pool.query(`/* bench */ SELECT state, done, failed FROM jobs WHERE id = $1`, [jobId]);
    const job = rows[0];
    if (job && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.state)) {
      if (job.state !== 'COMPLETED' || job.failed > 0) throw new Error(`job ${jobId} ended ${JSON.stringify(job)}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job?.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export const CLOCK_TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

/** CPU ms of every postgres process on the machine (children already reaped: in their parent's cutime). */
export function postgresCpuMs(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks * CLOCK_TICK_MS;
}

/** Busy and total CPU ms of the whole machine (all cores), from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: (total - values[3] - values[4]) * CLOCK_TICK_MS, total: total * CLOCK_TICK_MS };
}

export function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** The q-quantile of ascending values. */
export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
