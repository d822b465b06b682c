/**
 * Agreement analysis benchmark: a synthetic study, seeded and in memory (no database): --items 2AFC triplets
 * and as many JND pairs, --raters judgments per item by distinct raters of a panel of --panel, --metrics
 * metrics whose distances follow a latent truth with noise (every third on a coarse grid, so ties occur),
 * 4 categories. One analysis = src/agreement's analyseTwoAfc and analyseJnd over the scopes "all" and the 4
 * categories, --resamples resamples, 95% intervals, in the item-only and in the two-way (raters x items)
 * design. The peer, in the same run on the same data (raw little-endian files in a temp folder), is
 * bench/agreement_numpy.py: a straightforward vectorised numpy implementation of the same statistics and
 * bootstrap design with numpy's own generator, timing its computation itself (start-up and file reading
 * excluded). Point estimates must agree to 1e-12 and intervals to 0.01 (the generators differ). The two sides
 * alternate for --rounds rounds; each figure is the median of its rounds.
 *
 *   npm run bench:agreement
 *   npm run bench:agreement -- --items 2000 --resamples 200 --rounds 3
 *   options: --items N (10000), --metrics N (10), --raters N (5 per item), --panel N (50), --resamples N (1000),
 *            --rounds N (5), --modes item,two-way (both), --interval-tolerance T (0.01: for the default sizes;
 *            smaller scopes or fewer resamples have more Monte Carlo noise between the two generators);
 *            MEDPSIM_PYTHON (default /usr/bin/python3) runs the peer
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { argument, CLOCK_TICK_MS, machineCpuMs, median, option, processCpuMs } from './support';
import { analyseJnd, type JndScopeResult } from '../src/agreement/jnd';
import type { BootstrapOptions, Judged, JndDistances, Scope, TwoAfcDistances } from '../src/agreement/judged';
import { analyseTwoAfc, type TwoAfcScopeResult } from '../src/agreement/twoafc';
import { packageRoot } from '../src/platform/paths';
import { RandomStream } from '../src/synth/random';

const CATEGORIES = 4;
const SEED = 20261203;
const CONFIDENCE = 0.95;
const POINT_TOLERANCE = 1e-12;

interface Sizes {
  items: number;
  metrics: number;
  raters: number;
  panel: number;
}

interface Synthetic {
  judged: Judged;
  category: Int32Array;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** CPU ms of this process's reaped children (the peer's runs), from /proc/self/stat. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * CLOCK_TICK_MS;
}

/** Each item's raters (distinct, from the panel) and answers, each rater with a bias and a sensitivity. */
function judge(random: RandomStream, sizes: Sizes, chance: (item: number, sensitivity: number, bias: number) => number): Synthetic {
  const bias = Array.from({ length: sizes.panel }, () => random.normal(0, 0.3));
  const sensitivity = Array.from({ length: sizes.panel }, () => random.range(0.7, 1.3));
  const start = new Int32Array(sizes.items + 1);
  const rater = new Int32Array(sizes.items * sizes.raters);
  const answer = new Uint8Array(sizes.items * sizes.raters);
  const category = new Int32Array(sizes.items);
  const panel = Int32Array.from({ length: sizes.panel }, (_, r) => r);
  for (let i = 0; i < sizes.items; i++) {
    category[i] = random.int(0, CATEGORIES - 1);
    start[i + 1] = start[i] + sizes.raters;
    for (let k = 0; k < sizes.raters; k++) {
      const pick = random.int(k, sizes.panel - 1);
      [panel[k], panel[pick]] = [panel[pick], panel[k]];
      const r = panel[k];
      rater[start[i] + k] = r;
      answer[start[i] + k] = random.chance(chance(i, sensitivity[r], bias[r])) ? 1 : 0;
    }
  }
  return { judged: { count: sizes.items, raterCount: sizes.panel, start, rater, answer }, category };
}

/** A metric's noisy view of the truth; every third metric rounded to a grid of 0.05 (ties). */
function noisy(random: RandomStream, truth: Float64Array, m: number): Float64Array {
  const sd = 0.3 + 0.25 * m;
  return truth.map((t) => {
    const value = t + sd * random.normal();
    return m % 3 === 2 ? Math.round(value * 20) / 20 : value;
  });
}

function syntheticTwoAfc(sizes: Sizes) {
  const random = new RandomStream(SEED, 1);
  // Truth > 0: p1 is the closer candidate.
  const truth = Float64Array.from({ length: sizes.items }, () => random.normal());
  const study = judge(random, sizes, (i, sensitivity, bias) => sigmoid(1.5 * sensitivity * truth[i] + bias));
  const metrics: TwoAfcDistances[] = Array.from({ length: sizes.metrics }, (_, m) => {
    const view = noisy(random, truth, m);
    return { name: `metric${m}`, d0: view.map((x) => Math.exp(x / 2)), d1: view.map((x) => Math.exp(-x / 2)) };
  });
  return { ...study, metrics };
}

function syntheticJnd(sizes: Sizes) {
  const random = new RandomStream(SEED, 2);
  const severity = Float64Array.from({ length: sizes.items }, () => random.uniform());
  const study = judge(random, sizes, (i, sensitivity, bias) => sigmoid(6 * sensitivity * (0.4 - severity[i]) + bias));
  const metrics: JndDistances[] = Array.from({ length: sizes.metrics }, (_, m) => ({ name: `metric${m}`, distance: noisy(random, severity, m) }));
  return { ...study, metrics };
}

function scopesOf(category: Int32Array): Scope[] {
  const all = Int32Array.from(category, (_, i) => i);
  return [
    { name: 'all', items: all },
    ...Array.from({ length: CATEGORIES }, (_, c) => ({ name: `category ${c}`, items: all.filter((i) => category[i] === c) })),
  ];
}

/** What both sides report, per mode: scope -> figure -> [value, low, high]. */
type Figures = Record<string, Record<string, [number, number | null, number | null]>>;

interface PeerPass {
  numpy: string;
  seconds: Record<string, number>;
  figures: Record<string, Figures>;
}

function ourFigures(twoAfc: TwoAfcScopeResult[], jnd: JndScopeResult[]): Figures {
  const figures: Figures = {};
  for (const scope of twoAfc) {
    const entry: Figures[string] = (figures[scope.scope] ??= {});
    for (const { name, score } of scope.metrics) entry[`2afc ${name}`] = [score.value, score.low, score.high];
    entry['2afc pairwise'] = [scope.ceilings.pairwise.value, scope.ceilings.pairwise.low, scope.ceilings.pairwise.high];
    entry['2afc oracle'] = [scope.ceilings.oracle.value, scope.ceilings.oracle.low, scope.ceilings.oracle.high];
  }
  for (const scope of jnd) {
    const entry: Figures[string] = (figures[scope.scope] ??= {});
    for (const { name, map } of scope.metrics) entry[`jnd ${name}`] = [map.value, map.low, map.high];
  }
  return figures;
}

/** The largest point and interval differences between the two sides, with the figure that has each. */
function agreement(ours: Figures, peer: Figures): { point: number; interval: number; where: string; missing: string[] } {
  let point = 0;
  let interval = 0;
  let where = '';
  const missing: string[] = [];
  for (const [scope, entries] of Object.entries(ours)) {
    for (const [name, [value, low, high]] of Object.entries(entries)) {
      const other = peer[scope]?.[name];
      if (!other) {
        missing.push(`${scope} ${name}`);
        continue;
      }
      point = Math.max(point, Math.abs(value - other[0]));
      const spread = Math.max(Math.abs(low! - other[1]!), Math.abs(high! - other[2]!));
      if (spread > interval) {
        interval = spread;
        where = `${scope} ${name}`;
      }
    }
  }
  return { point, interval, where, missing };
}

function writeStudy(folder: string, prefix: string, study: Synthetic, distances: Float64Array[][]): void {
  const write = (name: string, data: ArrayBufferView) => writeFileSync(path.join(folder, `${prefix}_${name}`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  write('start.i32', study.judged.start);
  write('rater.i32', study.judged.rater);
  write('answer.u8', study.judged.answer);
  write('category.i32', study.category);
  distances.forEach((arrays, k) => {
    const matrix = new Float64Array(arrays.length * study.judged.count);
    arrays.forEach((values, m) => matrix.set(values, m * study.judged.count));
    write(`distance${k}.f64`, matrix);
  });
}

function main(): void {
  if (os.endianness() !== 'LE') throw new Error('the peer reads little-endian files');
  const sizes: Sizes = {
    items: Math.round(option('items', 10_000)),
    metrics: Math.round(option('metrics', 10)),
    raters: Math.round(option('raters', 5)),
    panel: Math.round(option('panel', 50)),
  };
  if (sizes.raters > sizes.panel) throw new Error(`--raters ${sizes.raters} is more than the panel of ${sizes.panel}`);
  const resamples = Math.round(option('resamples', 1000));
  const rounds = Math.round(option('rounds', 5));
  const intervalTolerance = option('interval-tolerance', 0.01);
  const modes = (argument('modes') ?? 'item,two-way').split(',');
  for (const mode of modes) if (mode !== 'item' && mode !== 'two-way') throw new Error(`--modes takes item and two-way, got ${mode}`);
  const python = process.env.MEDPSIM_PYTHON || '/usr/bin/python3';

  const twoAfc = syntheticTwoAfc(sizes);
  const jnd = syntheticJnd(sizes);
  const twoAfcScopes = scopesOf(twoAfc.category);
  const jndScopes = scopesOf(jnd.category);
  const folder = mkdtempSync(path.join(os.tmpdir(), 'medpsim-bench-agreement-'));
  writeStudy(
    folder,
    'twoafc',
    twoAfc,
    [twoAfc.metrics.map((metric) => metric.d0), twoAfc.metrics.map((metric) => metric.d1)],
  );
  writeStudy(folder, 'jnd', jnd, [jnd.metrics.map((metric) => metric.distance)]);
  writeFileSync(
    path.join(folder, 'meta.json'),
    JSON.stringify({ items: sizes.items, metrics: twoAfc.metrics.map((metric) => metric.name), panel: sizes.panel, categories: CATEGORIES, resamples, confidence: CONFIDENCE, seed: SEED, modes }),
  );

  const ours = new Map<string, { twoAfc: number[]; jnd: number[]; figures: Figures }>();
  const peer = new Map<string, { seconds: number[]; figures: Figures }>();
  let numpyVersion = '';
  const machineBefore = machineCpuMs();
  const ownBefore = processCpuMs() + childrenCpuMs();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of modes) {
        const options: BootstrapOptions = { resamples, seed: SEED, confidence: CONFIDENCE, twoWay: mode === 'two-way' };
        const started = process.hrtime.bigint();
        const twoAfcResult = analyseTwoAfc(twoAfc.judged, twoAfc.metrics, twoAfcScopes, options);
        const between = process.hrtime.bigint();
        const jndResult = analyseJnd(jnd.judged, jnd.metrics, jndScopes, options);
        const ended = process.hrtime.bigint();
        const entry = ours.get(mode) ?? { twoAfc: [], jnd: [], figures: ourFigures(twoAfcResult, jndResult) };
        entry.twoAfc.push(Number(between - started) / 1e9);
        entry.jnd.push(Number(ended - between) / 1e9);
        ours.set(mode, entry);
      }
      let out: string;
      try {
        out = execFileSync(python, [path.join(packageRoot(), 'bench', 'agreement_numpy.py'), folder], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
          maxBuffer: 64 * 1024 * 1024,
        });
      } catch (error) {
        throw new Error(`the peer failed (${python} bench/agreement_numpy.py; it needs numpy, MEDPSIM_PYTHON names another Python): ${(error as Error).message}`);
      }
      const pass = JSON.parse(out) as PeerPass;
      numpyVersion = pass.numpy;
      for (const mode of modes) {
        const entry = peer.get(mode) ?? { seconds: [], figures: pass.figures[mode] };
        entry.seconds.push(pass.seconds[mode]);
        peer.set(mode, entry);
      }
      process.stderr.write(`round ${round}/${rounds} done\n`);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  const machineAfter = machineCpuMs();
  const foreign = (machineAfter.busy - machineBefore.busy - (processCpuMs() + childrenCpuMs() - ownBefore)) / (machineAfter.total - machineBefore.total);

  console.log('| design | ours: 2AFC s | ours: JND s | ours: total s | numpy: total s | numpy / ours | max abs diff, point estimates | max abs diff, interval bounds |');
  console.log('|---|---|---|---|---|---|---|---|');
  const failures: string[] = [];
  for (const mode of modes) {
    const mine = ours.get(mode)!;
    const theirs = peer.get(mode)!;
    const total = median(mine.twoAfc.map((seconds, k) => seconds + mine.jnd[k]));
    const numpy = median(theirs.seconds);
    const check = agreement(mine.figures, theirs.figures);
    if (check.missing.length) failures.push(`${mode}: the peer lacks ${check.missing.join(', ')}`);
    if (!(check.point <= POINT_TOLERANCE)) failures.push(`${mode}: point estimates differ by ${check.point.toExponential(2)} (> ${POINT_TOLERANCE})`);
    if (!(check.interval <= intervalTolerance)) failures.push(`${mode}: interval bounds differ by ${check.interval.toFixed(4)} at ${check.where} (> ${intervalTolerance})`);
    if (total >= 5) failures.push(`${mode}: ours took ${total.toFixed(2)} s (target: under 5 s)`);
    if (total >= numpy) failures.push(`${mode}: ours (${total.toFixed(2)} s) not faster than numpy (${numpy.toFixed(2)} s)`);
    console.log(
      `| ${mode === 'item' ? 'items resampled' : 'raters x items resampled'} | ${median(mine.twoAfc).toFixed(3)} | ${median(mine.jnd).toFixed(3)} | ${total.toFixed(3)} | ` +
        `${numpy.toFixed(3)} | ${(numpy / total).toFixed(2)} | ${check.point.toExponential(1)} | ${check.interval.toFixed(4)} (${check.where}) |`,
    );
  }
  console.log(
    `\nsynthetic study, seeded: ${sizes.items} 2AFC items and ${sizes.items} JND items, ${sizes.raters} of ${sizes.panel} raters each, ${sizes.metrics} metrics, ` +
      `scopes all + ${CATEGORIES} categories, ${resamples} resamples, ${rounds} rounds (medians); machine: ${os.availableParallelism()} cores, ${os.cpus()[0].model}; ` +
      `node ${process.version}; numpy ${numpyVersion}; other processes used ${Math.max(0, 100 * foreign).toFixed(0)}% of the machine's CPU meanwhile`,
  );
  if (failures.length) {
    console.log(`\nNOT met:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log(`\nmet: point estimates within ${POINT_TOLERANCE}, intervals within ${intervalTolerance}, under 5 s and faster than numpy in every design`);
  }
}

main();
