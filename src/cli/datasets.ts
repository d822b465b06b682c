/** `medpsim import`, `medpsim datasets`: dataset work through a running server. */
import path from 'node:path';
import type { Command } from 'commander';
import { request, serverOf, serverOptions } from './client';
import { followJob, JOB_FIELDS, jobSummary, type JobView } from './jobs';
import { uploadFolder } from './upload';

export function registerDatasetCommands(program: Command): void {
  serverOptions(program.command('import'))
    .description('import a folder ({train,test,val}/<LABEL>/*, <LABEL>/* or flat) into a dataset: read by the server as a job, or sent with --upload')
    .argument('<folder>', 'folder readable by the server (inside its MEDPSIM_IMPORT_ROOTS), or a local folder with --upload')
    .requiredOption('-d, --dataset <name>', 'dataset name (created if missing)')
    .option('--split <split>', 'split for files outside split folders (train, test, val)')
    .option('--label <label>', 'label for files outside label folders')
    .option('--description <text>', 'dataset description')
    .option('--upload', 'send the files over HTTP (the server may be on another machine); files it has already are skipped')
    .option('--in-flight <n>', 'with --upload: files sent at once (1 to 32)', (value) => Number(value), 4)
    .option('--no-wait', 'print the job id and return at once')
    .option('--json', 'print the final job (or, with --upload, the summary) as JSON')
    .action(async (folder: string, options) => {
      const server = serverOf(options);
      if (options.upload) {
        if (!Number.isInteger(options.inFlight) || options.inFlight < 1 || options.inFlight > 32) throw new Error('--in-flight must be an integer in [1, 32]');
        const summary = await uploadFolder(server, {
          folder: path.resolve(folder),
          dataset: options.dataset,
          split: options.split,
          label: options.label,
          inFlight: options.inFlight,
          showBar: !options.json && process.stderr.isTTY === true,
        });
        if (options.json) console.log(JSON.stringify(summary));
        else {
          console.log(`${summary.dataset}: ${summary.uploaded} uploaded, ${summary.alreadyThere} already there, ${summary.failed.length} failed (of ${summary.files} files)`);
          for (const failure of summary.failed.slice(0, 20)) console.log(`  ${failure.item}: ${failure.code}: ${failure.message}`);
        }
        return;
      }
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
      const job = await followJob(server, importDataset.id, !options.json && process.stderr.isTTY === true, 'files');
      console.log(options.json ? JSON.stringify(job) : jobSummary(job));
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

  serverOptions(program.command('datasets'))
    .description('list datasets with image counts per split and label')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { datasets } = await request<{
        datasets: Array<{ id: string; name: string; synthetic: boolean; imageCount: number; counts: Array<{ split: string | null; label: string | null; count: number }> }>;
      }>(serverOf(options), `{ datasets { id name synthetic imageCount counts { split label count } } }`);
      if (options.json) {
        console.log(JSON.stringify(datasets, null, 2));
        return;
      }
      for (const dataset of datasets) {
        console.log(`${dataset.name}${dataset.synthetic ? ' (synthetic)' : ''}: ${dataset.imageCount} images  [${dataset.id}]`);
        for (const row of dataset.counts) console.log(`  ${row.split ?? '-'} / ${row.label ?? '-'}: ${row.count}`);
      }
    });
}
