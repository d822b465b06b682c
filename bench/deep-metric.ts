/**
 * Deep-feature distance benchmark: LPIPS-style distances (src/metrics/deep.ts) with the study's ResNet50
 * classifier (conv1 + layer1..layer4, no lin weights), on a workload shaped like scoring a 2AFC test set: R
 * references, each with two candidates p0 and p1 (the reference with the engine's Gaussian noise, sigma
 * 0.03 and 0.06, seeds of their own), 2R pairs, at --size (224, the classifier's usual input) and at
 * --patch-size (64, BAPPS's patches). Ours: `deepDistances` through an `InferencePool` of one worker with
 * provider cpu (onnxruntime-node), (a) one request per item (images [ref, p0, p1] with keys, pairs [[0, 1],
 * [0, 2]]), as a scoring job sends them, and (b) one request for all items (3R images, the worker's batches of
 * at most 2^20 pixels across items). Beside, in the same run and on the same pixels (raw float32 in a temp
 * folder), bench/deep_metric_peer.py with PyTorch on the same weights (the checkpoint the export was made
 * from): naive (two batch-1 forward passes per pair, as lpips.LPIPS()(ref, p) does), per item (one batch
 * [ref, p0, p1]) and across items (batches as our worker's). The passes are paired: in each round, for
 * each workload, PyTorch per item, ours per item, PyTorch naive, then ours in one request and PyTorch across
 * items (the order reversed every other round), so that each ratio compares two passes made seconds apart on
 * this shared machine; --rounds rounds after one untimed warm-up round (the per-item passes on the first item
 * only). A sample is one pass over all R items; pairs/s = 2R / the median of the rounds' seconds; each ratio
 * is the median of the rounds' paired ratios.
 *
 *   npm run bench:deep
 *   npm run bench:deep -- --rounds 3 --items 8 --size 224 --patch-size 64
 *   options: --rounds N (default 5), --items R (default 16), --size N (default 224), --patch-size N (default
 *            64), --model FILE.onnx (a classifier export with its checkpoint beside it; default: a fresh
 *            1-epoch export of the training package in a temp folder, ~15 s); MEDPSIM_PYTHON (default
 *            /usr/bin/python3) runs the training package and the peer
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CLOCK_TICK_MS, argument, machineCpuMs, median, option, processCpuMs } from './support';
import { deepDistances, describeDeepModel, type DeepModel } from '../src/metrics/deep';
import { InferencePool } from '../src/models/inference';
import { checkModelFiles } from '../src/models/manifest';
import { nativeEngine, type FloatImage } from '../src/platform/native';
import { packageRoot } from '../src/platform/paths';
import { renderPhantom } from '../src/synth/phantom';

/** The issue's target: our pairs/s at least this many times PyTorch's on the CPU. */
const TARGET = 1.5;
/** The worker's batch limit (src/models/inference-worker.ts MAX_BATCH_PIXELS), for the description. */
const MAX_BATCH_PIXELS = 1 << 20;

interface Workload {
  name: string;
  size: number;
  items: Array<[FloatImage, FloatImage, FloatImage]>;
  file: string;
}

type PeerName = 'naive' | 'perItem' | 'crossItems';
type OursName = 'perItem' | 'oneRequest';

interface PassResult {
  distances: number[];
  seconds: number;
}


const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const fixed = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

/** R items of one size: a phantom reference and two noisy copies (the engine's gaussian_noise, clipped to [0, 1]). */
async function makeWorkload(name: string, size: number, count: number, folder: string): Promise<Workload> {
  const items: Workload['items'] = [];
  const image = (data: Float32Array): FloatImage => ({ data, width: size, height: size, channels: 1 });
  for (let i = 0; i < count; i++) {
    const ref = renderPhantom({ width: size, height: size, label: i % 2 ? 'PNEUMONIA' : 'NORMAL', seed: 1000 + i });
    const noisy = (sigma: number, seed: bigint) =>
      nativeEngine().distort([{ data: ref, width: size, height: size, channels: 1, seed }], [{ kind: 'gaussian_noise', params: { sigma } }], { threads: 1 });
    const [[p0], [p1]] = await Promise.all([noisy(0.03, BigInt(2 * i + 1)), noisy(0.06, BigInt(2 * i + 2))]);
    items.push([image(ref), image(p0), image(p1)]);
  }
  const file = path.join(folder, `${name}.f32`);
  const all = new Float32Array(count * 3 * size * size);
  items.flat().forEach((img, k) => all.set(img.data, k * size * size));
  writeFileSync(file, all);
  return { name, size, items, file };
}

/** One pass of ours over every item; `pass` makes the keys new, so no features kept from an earlier pass are reused. */
async function oursPerItem(pool: InferencePool, model: DeepModel, workload: Workload, pass: number): Promise<PassResult> {
  const distances: number[] = [];
  const start = process.hrtime.bigint();
  for (const [i, [ref, p0, p1]] of workload.items.entries()) {
    const key = (what: string) => `bench-${pass}-${workload.name}-${i}-${what}`;
    const result = await deepDistances(pool, model, model.defaultLayers, [{ image: ref, key: key('ref') }, { image: p0, key: key('p0') }, { image: p1, key: key('p1') }], [[0, 1], [0, 2]]);
    distances.push(...result.distances);
  }
  return { distances, seconds: seconds(start) };
}

async function oursOneRequest(pool: InferencePool, model: DeepModel, workload: Workload, pass: number): Promise<PassResult> {
  const images = workload.items.flatMap((item, i) => item.map((image, k) => ({ image, key: `bench-all-${pass}-${workload.name}-${i}-${k}` })));
  const pairs = workload.items.flatMap((_, i): Array<[number, number]> => [[3 * i, 3 * i + 1], [3 * i, 3 * i + 2]]);
  const start = process.hrtime.bigint();
  const result = await deepDistances(pool, model, model.defaultLayers, images, pairs);
  return { distances: result.distances, seconds: seconds(start) };
}

/** The peer process: started once, one pass per "WORKLOAD PEER" line, one JSON line back each. */
class Peer {
  private lines: string[] = [];
  private waiting: Array<(line: string) => void> = [];
  private stderr = '';
  private exited: string | null = null;
  constructor(private child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next(line);
      else this.lines.push(line);
    });
    child.stderr.on('data', (chunk) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    child.on('exit', (code, signal) => {
      this.exited = `the peer exited (${code ?? signal}):\n${this.stderr}`;
      for (const waiter of this.waiting.splice(0)) waiter('');
    });
  }

  async line(): Promise<unknown> {
    const text = this.lines.shift() ?? (this.exited === null ? await new Promise<string>((resolve) => this.waiting.push(resolve)) : '');
    if (!text) throw new Error(this.exited ?? 'the peer closed its output');
    return JSON.parse(text);
  }

  /** One pass of a peer over a workload's items (warm: the per-item peers on the first item only). */
  async pass(workload: string, peer: PeerName, warm: boolean): Promise<PassResult> {
    this.child.stdin.write(`${workload} ${peer}${warm ? ' warm' : ''}\n`);
    return (await this.line()) as PassResult;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** User + system CPU ms of a process (its threads included), from /proc. */
function childCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

/** The classifier: --model, or a fresh tiny training of the training package (any weights do for speed). */
function classifierExport(python: string, folder: string): string {
  const given = argument('model');
  if (given) return path.resolve(given);
  const training = path.join(packageRoot(), 'training');
  const data = path.join(folder, 'data');
  const out = path.join(folder, 'model');
  const run = (args: string[]) => {
    const result = spawnSync(python, args, { cwd: training, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (result.status !== 0) throw new Error(`${python} ${args.slice(0, 3).join(' ')} failed (it needs torch and torchvision; MEDPSIM_PYTHON names another Python):\n${result.stderr ?? result.error}`);
  };
  process.stderr.write('exporting the ResNet50 classifier (1 epoch on 32x32 phantoms, weights from scratch)...\n');
  run(['-c', 'import sys; from tests.helpers import make_kermany; make_kermany(sys.argv[1], size=32)', data]);
  run(['-m', 'medpsim_training', 'train-classifier', '--data', data, '--epochs', '1', '--batch-size', '8', '--image-size', '32', '--weights', 'none', '--out-dir', out, '--name', 'cxr', '--seed', '1', '--device', 'cpu']);
  return path.join(out, 'cxr.onnx');
}

async function main(): Promise<void> {
  const rounds = Math.round(option('rounds', 5));
  const count = Math.round(option('items', 16));
  const size = Math.round(option('size', 224));
  const patchSize = Math.round(option('patch-size', 64));
  const python = process.env.MEDPSIM_PYTHON || '/usr/bin/python3';
  const folder = mkdtempSync(path.join(os.tmpdir(), 'medpsim-bench-deep-'));
  const pool = new InferencePool({ size: 1, provider: 'cpu' });
  let peer: Peer | null = null;
  try {
    const onnxPath = classifierExport(python, folder);
    const checked = await checkModelFiles(onnxPath);
    const model = await describeDeepModel({ name: checked.manifest.name, path: checked.onnxPath, sha256: checked.sha256, manifest: checked.manifest }, 'model');
    const checkpoint = path.join(path.dirname(onnxPath), (checked.manifest as unknown as { checkpoint?: string }).checkpoint ?? `${checked.manifest.name}.pt`);
    const sizes = [...new Set([size, patchSize])];
    const workloads: Workload[] = [];
    for (const s of sizes) workloads.push(await makeWorkload(`${s}x${s}`, s, count, folder));

    const child = spawn(python, [path.join(packageRoot(), 'bench', 'deep_metric_peer.py'), checkpoint, ...workloads.map((w) => `${w.name}:${w.file}:${w.size}:${count}`)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    peer = new Peer(child);
    const hello = (await peer.line()) as { versions: Record<string, string>; threads: number; mkldnn: boolean };
    const peerBeforeMs = childCpuMs(child.pid!);

    const runOurs = (w: Workload, which: OursName, warm: boolean) =>
      which === 'perItem' ? oursPerItem(pool, model, warm ? { ...w, items: w.items.slice(0, 1) } : w, pass++) : oursOneRequest(pool, model, w, pass++);
    let pass = 0;
    type Step = { side: 'ours'; name: OursName } | { side: 'peer'; name: PeerName };
    const steps: Step[] = [
      { side: 'peer', name: 'perItem' },
      { side: 'ours', name: 'perItem' },
      { side: 'peer', name: 'naive' },
      { side: 'ours', name: 'oneRequest' },
      { side: 'peer', name: 'crossItems' },
    ];
    const stepKey = (step: Step) => `${step.side} ${step.name}`;
    // Per workload and step: the rounds' seconds and the last distances.
    const samples = new Map<string, { seconds: number[]; distances: number[] }>();
    const started = process.hrtime.bigint();
    const machineBefore = machineCpuMs();
    const oursBefore = processCpuMs();
    for (let round = 0; round <= rounds; round++) {
      const warm = round === 0; // sessions, allocators, kernels for each shape; not recorded
      for (const w of workloads) {
        for (const step of round % 2 ? steps : [...steps].reverse()) {
          const result = step.side === 'ours' ? await runOurs(w, step.name, warm) : await peer.pass(w.name, step.name, warm);
          if (warm) continue;
          const key = `${w.name} ${stepKey(step)}`;
          const entry = samples.get(key) ?? { seconds: [], distances: [] };
          entry.seconds.push(result.seconds);
          entry.distances = result.distances;
          samples.set(key, entry);
        }
      }
      process.stderr.write(warm ? `warm-up round done (${seconds(started).toFixed(0)} s)\n` : `round ${round}/${rounds} done (${seconds(started).toFixed(0)} s)\n`);
    }

    // How busy the rest of the machine was meanwhile: its busy CPU time less this process's and the peer's.
    const machineAfter = machineCpuMs();
    const peerMs = childCpuMs(child.pid!);
    const othersShare = (machineAfter.busy - machineBefore.busy - (processCpuMs() - oursBefore) - (peerMs - peerBeforeMs)) / (machineAfter.total - machineBefore.total);

    const pairs = 2 * count;
    const get = (w: Workload, side: Step['side'], name: string) => samples.get(`${w.name} ${side} ${name}`)!;
    const rate = (w: Workload, side: Step['side'], name: string) => pairs / median(get(w, side, name).seconds);
    const best = (w: Workload, side: Step['side'], name: string) => pairs / Math.min(...get(w, side, name).seconds);
    /** The median over rounds of ours' rate / the peer's rate in the same round. */
    const pairedRatio = (w: Workload, oursName: OursName, peerName: PeerName) => {
      const mine = get(w, 'ours', oursName).seconds;
      const theirs = get(w, 'peer', peerName).seconds;
      return median(mine.map((s, round) => theirs[round] / s));
    };
    console.log(
      '| workload | ours, per item (pairs/s) | ours, one request (pairs/s) | PyTorch naive, 2 passes per pair (pairs/s) | PyTorch per item, batch of 3 (pairs/s) | ' +
        'PyTorch across items (pairs/s) | ours per item / naive | ours per item / per item | ours one request / across items | max rel. diff. ours vs PyTorch |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    const verdicts: string[] = [];
    const bestLines: string[] = [];
    for (const w of workloads) {
      const ratios = {
        naive: pairedRatio(w, 'perItem', 'naive'),
        perItem: pairedRatio(w, 'perItem', 'perItem'),
        cross: pairedRatio(w, 'oneRequest', 'crossItems'),
      };
      // Agreement: both of our passes against the three peers' (which should agree among themselves to rounding).
      let maxRel = 0;
      let peerSpread = 0;
      const reference = get(w, 'peer', 'perItem').distances;
      for (const [i, value] of reference.entries()) {
        for (const name of ['perItem', 'oneRequest'] as const) maxRel = Math.max(maxRel, Math.abs(get(w, 'ours', name).distances[i] - value) / Math.abs(value));
        for (const name of ['naive', 'crossItems'] as const) peerSpread = Math.max(peerSpread, Math.abs(get(w, 'peer', name).distances[i] - value) / Math.abs(value));
      }
      console.log(
        `| ${w.name}, ${count} items, ${pairs} pairs | ${fixed(rate(w, 'ours', 'perItem'))} | ${fixed(rate(w, 'ours', 'oneRequest'))} | ${fixed(rate(w, 'peer', 'naive'))} | ` +
          `${fixed(rate(w, 'peer', 'perItem'))} | ${fixed(rate(w, 'peer', 'crossItems'))} | ${ratios.naive.toFixed(2)} | ${ratios.perItem.toFixed(2)} | ${ratios.cross.toFixed(2)} | ${maxRel.toExponential(1)} |`,
      );
      const verdict = (label: string, ratio: number) => `${w.name} ${label}: ${ratio.toFixed(2)}x (target ${TARGET}x: ${ratio >= TARGET ? 'met' : 'MISSED'})`;
      verdicts.push(
        verdict('ours per item against PyTorch naive', ratios.naive),
        verdict('ours per item against PyTorch per item', ratios.perItem),
        verdict('ours one request against PyTorch across items', ratios.cross),
      );
      if (peerSpread > 1e-5) verdicts.push(`${w.name}: the PyTorch peers disagree among themselves by up to ${peerSpread.toExponential(1)} (relative)`);
      const [bp, bo, bn, bi, bc] = [best(w, 'ours', 'perItem'), best(w, 'ours', 'oneRequest'), best(w, 'peer', 'naive'), best(w, 'peer', 'perItem'), best(w, 'peer', 'crossItems')];
      bestLines.push(
        `  ${w.name}: ours ${fixed(bp)} / ${fixed(bo)}, PyTorch ${fixed(bn)} / ${fixed(bi)} / ${fixed(bc)}; ` +
          `ours per item / naive ${(bp / bn).toFixed(2)}, / per item ${(bp / bi).toFixed(2)}; ours one request / across items ${(bo / bc).toFixed(2)}`,
      );
    }
    console.log(`\n${verdicts.join('\n')}`);
    console.log(`\nother processes used ${Math.max(0, othersShare * 100).toFixed(0)}% of the machine's CPU time during the rounds (ratios under contention favour whichever side suffers less from it)`);
    console.log(`\nfastest round of each pass (pairs/s as in the table's columns; ratios of those):\n${bestLines.join('\n')}`);
    console.log(
      `\nResNet50 classifier (${path.basename(onnxPath)}, ${model.defaultLayers.length} feature layers, no lin weights), greyscale float32 items of a reference and two noisy copies; ` +
        `ours: InferencePool size 1, provider cpu, onnxruntime-node ${require('onnxruntime-node/package.json').version} (default session options), one request per item or one for all ` +
        `(batches of <= ${MAX_BATCH_PIXELS} pixels); PyTorch: ${hello.threads} threads, no_grad, eval${hello.mkldnn ? ', oneDNN available' : ''}; ` +
        `${rounds} rounds after a warm-up round, samples of one pass over all items, medians, paired ratios; ${seconds(started).toFixed(0)} s; ` +
        `machine: ${os.availableParallelism()} cores, ${os.cpus()[0].model}; node ${process.version}; ${Object.entries(hello.versions).map(([name, version]) => `${name} ${version}`).join(', ')}`,
    );
  } finally {
    peer?.close();
    await pool.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
