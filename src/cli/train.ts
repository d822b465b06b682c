/** `medpsim train`: a training job on a running server (the startTraining mutation), followed to its end. */
import path from 'node:path';
import type { Command } from 'commander';
import { datasetId, request, serverOf, serverOptions, subscribe } from './client';


interface TrainingJobView {
  id: string;
  state: string;
  done: number;
  total: number | null;
  error: string | null;
  elapsedSeconds: number | null;
  training: {
    device: string | null;
    progress: { epoch?: number; epochs?: number; losses?: Record<string, number | null> } | null;
    warnings: string[];
    metrics: Record<string, unknown> | null;
    modelPath: string | null;
  } | null;
}

const JOB_FIELDS = `id state done total error elapsedSeconds training { device progress warnings metrics modelPath }`;

/** `-o name=value`: numbers and true/false as JSON values, anything else as a string. */
function parseOption(text: string, options: Record<string, unknown> = {}): Record<string, unknown> {
  const equals = text.indexOf('=');
  if (equals < 1) throw new Error(`--option wants NAME=VALUE (e.g. epochs=5), got "${text}"`);
  const value = text.slice(equals + 1);
  const number = Number(value);
  options[text.slice(0, equals)] = value === 'true' ? true : value === 'false' ? false : value !== '' && Number.isFinite(number) ? number : value;
  return options;
}


function epochLine(job: TrainingJobView): string | null {
  const progress = job.training?.progress;
  if (!progress?.epoch) return null;
  const losses = Object.entries(progress.losses ?? {})
    .map(([name, value]) => `${name} ${value === null ? '-' : value.toPrecision(4)}`)
    .join(', ');
  return `epoch ${progress.epoch}/${progress.epochs}${losses ? `: loss ${losses}` : ''}`;
}

export function registerTrainCommand(program: Command): void {
  serverOptions(program.command('train'))
    .description('train a model on the server as a job (the Python trainer in training/), and follow it')
    .argument('<task>', 'classifier, dae or gan')
    .requiredOption('-n, --name <name>', 'model name: the files are <name>.onnx and <name>.json in the models folder')
    .option('-d, --dataset <id-or-name>', 'a dataset on the server')
    .option('--data <folder>', 'or a folder readable by the server')
    .option('-o, --option <name=value>', 'a trainer option in camelCase, repeatable (e.g. -o epochs=5 -o batchSize=16)', parseOption)
    .option('--device <device>', 'auto, cpu or cuda', 'auto')
    .option('--no-wait', 'print the job id and return at once')
    .option('--json', 'print the final job as JSON')
    .action(async (task: string, options) => {
      const server = serverOf(options);
      if (!options.dataset === !options.data) throw new Error('give --dataset or --data (one of them)');
      const input = {
        task: task.toUpperCase(),
        name: options.name,
        datasetId: options.dataset ? await datasetId(server, options.dataset) : null,
        dataFolder: options.data ? path.resolve(options.data) : null,
        options: options.option ?? {},
        device: String(options.device).toUpperCase(),
      };
      const { startTraining } = await request<{ startTraining: { id: string } }>(
        server,
        `mutation ($input: StartTrainingInput!) { startTraining(input: $input) { id } }`,
        { input },
      );
      if (!options.wait) {
        console.log(startTraining.id);
        return;
      }
      let job: TrainingJobView | null = null;
      let shown: string | null = null;
      for await (const { jobProgress } of subscribe<{ jobProgress: TrainingJobView }>(
        server,
        `subscription ($id: ID!) { jobProgress(id: $id) { ${JOB_FIELDS} } }`,
        { id: startTraining.id },
      )) {
        job = jobProgress;
        const line = epochLine(job);
        if (!options.json && line && line !== shown) console.error(line);
        shown = line ?? shown;
      }
      if (!job) throw new Error(`job ${startTraining.id} sent no progress`);
      if (options.json) console.log(JSON.stringify(job, null, 2));
      else if (job.state === 'COMPLETED') {
        console.log(`job ${job.id} COMPLETED in ${job.elapsedSeconds?.toFixed(1)} s on ${job.training?.device}: ${job.training?.modelPath}`);
        console.log(JSON.stringify(job.training?.metrics));
      } else console.log(`job ${job.id} ${job.state}${job.error ? `: ${job.error}` : ''}`);
      if (job.state !== 'COMPLETED') process.exitCode = 1;
    });
}
