/** `medpsim train`: a training job on a running server (the startTraining mutation), followed to its end. */
import path from 'node:path';
import type { Command } from 'commander';
import { datasetId, request, serverOf, serverOptions, subscribe, type Server } from './client';
import { describeRange, ZOO_KNOBS, type KnobValue } from '../training/zoo-knobs';


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

/** `--range gLayers=3..5`, `--range gUpsample=bilinear,nearest`: a zoo knob's range as the request takes it. */
function parseRange(text: string, ranges: Record<string, unknown> = {}): Record<string, unknown> {
  const equals = text.indexOf('=');
  if (equals < 1) throw new Error(`--range wants KNOB=MIN..MAX or KNOB=A,B,... (e.g. gLayers=3..5), got "${text}"`);
  const name = text.slice(0, equals);
  const value = text.slice(equals + 1);
  const knob = ZOO_KNOBS.find((k) => k.name === name);
  const scalar = (word: string): KnobValue => (word === 'true' ? true : word === 'false' ? false : word !== '' && Number.isFinite(Number(word)) ? Number(word) : word);
  if (knob?.type === 'choice') ranges[name] = value.split(',').map(scalar);
  else {
    // Unknown knobs go to the server as they are, which names them in its error.
    const [low, high = low] = value.split('..');
    ranges[name] = [scalar(low), scalar(high)];
  }
  return ranges;
}

const KNOB_HELP = ZOO_KNOBS.map((knob) => `  ${knob.name}: ${describeRange(knob, knob.type === 'choice' ? knob.values : knob.limits)} (default ${describeRange(knob, knob.default)})`).join('\n');

interface ZooView {
  name: string;
  state: string;
  size: number;
  job: { id: string; state: string; done: number; failed: number; total: number | null; error: string | null } | null;
  members: Array<{ index: number; draw: number; modelName: string; knobs: Record<string, unknown>; summary: { seconds?: number } | null }>;
  degenerateDraws: Array<{ index: number; draw: number; reason: string }>;
}

const ZOO_FIELDS = `name state size job { id state done failed total error } members { index draw modelName knobs summary } degenerateDraws { index draw reason }`;

function printZoo(zoo: ZooView): void {
  console.log(`zoo ${zoo.name}: ${zoo.state}, ${zoo.members.length} of ${zoo.size} members${zoo.job?.failed ? `, ${zoo.job.failed} given up` : ''}`);
  for (const member of zoo.members) {
    // In the catalog's order (jsonb keeps its own).
    const knobs = ZOO_KNOBS.filter((knob) => knob.name in member.knobs).map((knob) => `${knob.name}=${member.knobs[knob.name]}`).join(' ');
    const seconds = member.summary?.seconds;
    console.log(`  ${member.modelName} (draw ${member.draw}${seconds !== undefined ? `, ${seconds.toFixed(1)} s` : ''}): ${knobs}`);
  }
  for (const draw of zoo.degenerateDraws) console.log(`  replaced: member ${draw.index} draw ${draw.draw}: ${draw.reason}`);
}

async function trainZoo(server: Server, options: Record<string, any>): Promise<void> {
  if (!options.dataset) throw new Error('a zoo trains on a dataset of the server: give --dataset');
  const guard = { minRmsChange: options.minRmsChange, minContrastRatio: options.minContrastRatio, draws: options.draws };
  const input = {
    name: options.name,
    datasetId: await datasetId(server, options.dataset),
    size: options.members === undefined ? null : Number(options.members),
    seed: Number(options.seed),
    ranges: options.range ?? {},
    options: options.option ?? {},
    guard: Object.fromEntries(Object.entries(guard).filter(([, value]) => value !== undefined).map(([name, value]) => [name, Number(value)])),
    device: String(options.device).toUpperCase(),
  };
  const { trainGeneratorZoo } = await request<{ trainGeneratorZoo: { job: { id: string } } }>(
    server,
    `mutation ($input: TrainGeneratorZooInput!) { trainGeneratorZoo(input: $input) { job { id } } }`,
    { input },
  );
  const jobId = trainGeneratorZoo.job.id;
  if (!options.wait) {
    console.log(jobId);
    return;
  }
  let shown = '';
  for await (const { jobProgress } of subscribe<{ jobProgress: { state: string; done: number; failed: number; total: number | null } }>(
    server,
    `subscription ($id: ID!) { jobProgress(id: $id) { state done failed total } }`,
    { id: jobId },
  )) {
    const line = `members ${jobProgress.done}/${jobProgress.total ?? '?'} trained${jobProgress.failed ? `, ${jobProgress.failed} given up` : ''} (${jobProgress.state})`;
    if (!options.json && line !== shown) console.error(line);
    shown = line;
  }
  const { modelZoo } = await request<{ modelZoo: ZooView }>(server, `query ($name: String!) { modelZoo(name: $name) { ${ZOO_FIELDS} } }`, { name: options.name });
  if (options.json) console.log(JSON.stringify(modelZoo, null, 2));
  else printZoo(modelZoo);
  if (modelZoo.state !== 'READY') process.exitCode = 1;
}

export function registerTrainCommand(program: Command): void {
  serverOptions(program.command('train'))
    .description('train a model on the server as a job (the Python trainer in training/), and follow it; or a zoo of generators')
    .argument('<task>', 'classifier, dae, gan, or zoo (K generators with knobs drawn from --range; needs --dataset)')
    .requiredOption('-n, --name <name>', 'model name: the files are <name>.onnx and <name>.json in the models folder (a zoo: its members are <name>-m000, ...)')
    .option('-d, --dataset <id-or-name>', 'a dataset on the server')
    .option('--data <folder>', 'or a folder readable by the server')
    .option('-o, --option <name=value>', 'a trainer option in camelCase, repeatable (e.g. -o epochs=5 -o batchSize=16)', parseOption)
    .option('--device <device>', 'auto, cpu or cuda', 'auto')
    .option('--members <K>', 'zoo: how many generators (default 24)')
    .option('--seed <n>', 'zoo: seed of every draw', '0')
    .option('--range <knob=range>', `zoo: a knob's range, repeatable: MIN..MAX or A,B,...; the knobs:\n${KNOB_HELP}`, parseRange)
    .option('--min-rms-change <x>', 'zoo guard: least RMS change of a held-out image (default 0.002)')
    .option('--min-contrast-ratio <x>', 'zoo guard: least output/input contrast ratio (default 0.05)')
    .option('--draws <n>', 'zoo guard: draws per member before it is given up (default 3)')
    .option('--no-wait', 'print the job id and return at once')
    .option('--json', 'print the final job (a zoo: the zoo) as JSON')
    .action(async (task: string, options) => {
      const server = serverOf(options);
      if (task === 'zoo') return trainZoo(server, options);
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

export function registerZooCommand(program: Command): void {
  serverOptions(program.command('zoos'))
    .description('list the generator zoos, or show one with its members and their knobs')
    .argument('[name]', 'a zoo')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, options) => {
      const server = serverOf(options);
      if (name) {
        const { modelZoo } = await request<{ modelZoo: ZooView }>(server, `query ($name: String!) { modelZoo(name: $name) { ${ZOO_FIELDS} } }`, { name });
        if (options.json) console.log(JSON.stringify(modelZoo, null, 2));
        else printZoo(modelZoo);
        return;
      }
      const { modelZoos } = await request<{ modelZoos: Array<{ name: string; state: string; size: number; members: unknown[] }> }>(
        server,
        `{ modelZoos { name state size members { index } } }`,
      );
      if (options.json) console.log(JSON.stringify(modelZoos, null, 2));
      else for (const zoo of modelZoos) console.log(`${zoo.name}\t${zoo.state}\t${zoo.members.length}/${zoo.size} members`);
    });
}
