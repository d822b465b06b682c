/** `medpsim import`, `medpsim datasets`, `medpsim job`: dataset work through a running server. */
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { request, serverUrl, subscribe } from './client';

const JOB_FIELDS = `id kind state total done skipped failed progress error elapsedSeconds`;

interface JobView {
  id: string;
  state: string;
  total: number | null;
  done: number;
  skipped: number;
  failed: number;
  error: string | null;
  elapsedSeconds: number | null;
}

async function followJob(server: string, jobId: string, showBar: boolean): Promise<JobView> {
  const bar = showBar
    ? new SingleBar({ format: 'import [{bar}] {percentage}% {value}/{total} files | {failed} failed | {state}', hideCursor: true }, Presets.shades_classic)
    : null;
  let started = false;
  let last: JobView | null = null;
  for await (const { jobProgress } of subscribe<{ jobProgress: JobView }>(
    server,
    `subscription ($id: ID!) { jobProgress(id: $id) { ${JOB_FIELDS} } }`,
    { id: jobId },
  )) {
    last = jobProgress;
    const value = jobProgress.done + jobProgress.skipped + jobProgress.failed;
    if (bar && jobProgress.total !== null) {
      const payload = { failed: jobProgress.failed, state: jobProgress.state };
      if (!started) bar.start(jobProgress.total, value, payload);
      else bar.update(value, payload);
      started = true;
    }
  }
  bar?.stop();
  if (!last) throw new Error(`job ${jobId} sent no progress`);
  return last;
}

function summary(job: JobView): string {
  const rate = job.elapsedSeconds ? ` in ${job.elapsedSeconds.toFixed(1)} s` : '';
  const error = job.error ? `: ${job.error}` : '';
  return `job ${job.id} ${job.state}${error}: ${job.done} imported, ${job.skipped} already there, ${job.failed} failed${rate}`;
}

export function registerDatasetCommands(program: Command): void {
  program
    .command('import')
    .description('import a folder ({train,test,val}/<LABEL>/*, <LABEL>/* or flat) into a dataset, as a job')
    .argument('<folder>', 'folder readable by the server')
    .requiredOption('-d, --dataset <name>', 'dataset name (created if missing)')
    .option('--split <split>', 'split for files outside split folders (train, test, val)')
    .option('--label <label>', 'label for files outside label folders')
    .option('--description <text>', 'dataset description')
    .option('--server <url>', 'medpsim server (default $MEDPSIM_URL or http://localhost:4000)')
    .option('--no-wait', 'print the job id and return at once')
    .option('--json', 'print the final job as JSON')
    .action(async (folder: string, options) => {
      const server = serverUrl(options.server);
      const { importDataset } = await request<{ importDataset: JobView }>(
        server,
        `mutation ($input: ImportDatasetInput!) { importDataset(input: $input) { ${JOB_FIELDS} } }`,
        {
          input: {
            path: path.resolve(folder),
            datasetName: options.dataset,
            description: options.description ?? null,
            split: options.split ?? null,
            label: options.label ?? null,
          },
        },
      );
      if (!options.wait) {
        console.log(options.json ? JSON.stringify(importDataset) : importDataset.id);
        return;
      }
      const job = await followJob(server, importDataset.id, !options.json && process.stderr.isTTY === true);
      console.log(options.json ? JSON.stringify(job) : summary(job));
      if (job.failed > 0 && !options.json) {
        const { job: detail } = await request<{ job: { failures: Array<{ item: string; code: string; message: string }> } }>(
          server,
          `query ($id: ID!) { job(id: $id) { failures(first: 20) { item code message } } }`,
          { id: job.id },
        );
        for (const failure of detail.failures) console.log(`  ${failure.item}: ${failure.code}: ${failure.message}`);
      }
      if (job.state !== 'COMPLETED') process.exitCode = 1;
    });

  program
    .command('datasets')
    .description('list datasets with image counts per split and label')
    .option('--server <url>', 'medpsim server')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { datasets } = await request<{
        datasets: Array<{ id: string; name: string; synthetic: boolean; imageCount: number; counts: Array<{ split: string | null; label: string | null; count: number }> }>;
      }>(serverUrl(options.server), `{ datasets { id name synthetic imageCount counts { split label count } } }`);
      if (options.json) {
        console.log(JSON.stringify(datasets, null, 2));
        return;
      }
      for (const dataset of datasets) {
        console.log(`${dataset.name}${dataset.synthetic ? ' (synthetic)' : ''}: ${dataset.imageCount} images  [${dataset.id}]`);
        for (const row of dataset.counts) console.log(`  ${row.split ?? '-'} / ${row.label ?? '-'}: ${row.count}`);
      }
    });

  program
    .command('job')
    .description('show a job; with --watch, follow it until it ends')
    .argument('<id>')
    .option('--server <url>', 'medpsim server')
    .option('--watch', 'follow progress')
    .action(async (id: string, options) => {
      const server = serverUrl(options.server);
      const job = options.watch
        ? await followJob(server, id, process.stderr.isTTY === true)
        : (await request<{ job: JobView }>(server, `query ($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id })).job;
      console.log(summary(job));
    });
}
