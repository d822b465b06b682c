/**
 * Metric engine benchmark: every catalog metric on one 1024x1024 greyscale float pair (a synthetic chest
 * phantom, and the same with the engine's Gaussian noise, sigma 0.05), through nativeEngine().score (one pair,
 * one metric per call, no maps), on 1 thread and on all threads, in megapixels/s; beside, in the same run and
 * on the same pixels (written to a temp folder as raw float32), the Python peers of bench/metrics_peers.py:
 * scikit-image's structural_similarity (the settings our ssim pins), peak_signal_noise_ratio and
 * mean_squared_error, and OpenCV's quality module (QualitySSIM, QualityGMSD, QualityPSNR, QualityMSE) where
 * the Python has it. The engine's pass and the peers' pass alternate for --rounds rounds; each figure is the
 * median of its rounds' samples, a sample being a warm-up call then as many calls as fill --min-seconds.
 *
 *   npm run bench:metrics
 *   npm run bench:metrics -- --rounds 3 --size 512 --metrics ssim,psnr,mse
 *   options: --rounds N (default 5), --min-seconds S (default 0.25), --size N (default 1024), --metrics a,b;
 *            MEDPSIM_PYTHON (default /usr/bin/python3) runs the peers
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { argument, median, option } from './support';
import { nativeEngine, type NativePair } from '../src/platform/native';
import { packageRoot } from '../src/platform/paths';
import { renderPhantom } from '../src/synth/phantom';

/** How each peer's definition relates to ours: where it is the same, |engine - peer| should be rounding only. */
const DEFINITION_NOTE: Record<string, string> = {
  'scikit-image structural_similarity': 'same definition',
  'scikit-image peak_signal_noise_ratio': 'same definition',
  'scikit-image mean_squared_error': 'same definition',
  'OpenCV quality.QualityPSNR': 'same definition',
  'OpenCV quality.QualityMSE': 'same definition',
  'OpenCV quality.QualitySSIM': 'mean over the whole map (reflect-101 borders), ours crops 5 px',
  'OpenCV quality.QualityGMSD': 'population std (N), ours N - 1 (MATLAB std2)',
};

interface PeerSample {
  metric: string;
  peer: string;
  value: number;
  seconds1: number;
  secondsAll: number | null;
}

interface PeerPass {
  versions: Record<string, string>;
  opencv?: string;
  peers: PeerSample[];
}


/** (value, mean seconds per call): a warm-up call, then calls until minSeconds have passed (at least one). */
async function sample(pair: NativePair, metric: string, threads: number, minSeconds: number): Promise<{ value: number; seconds: number }> {
  const call = async () => {
    const result = await nativeEngine().score([pair], [{ name: metric, params: {} }], { threads, maps: false });
    if (result.errors[0]) throw new Error(`${metric}: ${result.errors[0]}`);
    return result.values[0];
  };
  let value = await call();
  let count = 0;
  const start = process.hrtime.bigint();
  for (;;) {
    value = await call();
    count++;
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsed >= minSeconds) return { value, seconds: elapsed / count };
  }
}

const mps = (pixels: number, seconds: number) => pixels / 1e6 / seconds;
const fixed = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e4) ? value.toExponential(6) : value.toPrecision(7);
}

async function main(): Promise<void> {
  const rounds = Math.round(option('rounds', 5));
  const minSeconds = option('min-seconds', 0.25);
  const size = Math.round(option('size', 1024));
  // The engine's metrics (the catalog may also hold others, computed elsewhere).
  const engineMetrics = nativeEngine().metrics().map((metric) => metric.name);
  const metrics = argument('metrics')?.split(',') ?? engineMetrics;
  for (const metric of metrics) if (!engineMetrics.includes(metric)) throw new Error(`${metric} is not an engine metric (${engineMetrics.join(', ')})`);
  const python = process.env.MEDPSIM_PYTHON || '/usr/bin/python3';
  const allThreads = os.availableParallelism();
  const pixels = size * size;

  // The pair: a phantom and the engine's own white Gaussian noise on it (clipped to [0, 1] by the engine).
  const a = renderPhantom({ width: size, height: size, label: 'PNEUMONIA', seed: 1 });
  const [b] = await nativeEngine().distort([{ data: a, width: size, height: size, channels: 1, seed: 1n }], [{ kind: 'gaussian_noise', params: { sigma: 0.05 } }], {});
  const pair: NativePair = { a, b, width: size, height: size, channels: 1, dataRange: 1 };
  const folder = mkdtempSync(path.join(os.tmpdir(), 'medpsim-bench-metrics-'));
  const aPath = path.join(folder, 'a.f32');
  const bPath = path.join(folder, 'b.f32');
  writeFileSync(aPath, a);
  writeFileSync(bPath, b);

  const ours = new Map<string, { value: number; one: number[]; all: number[] }>();
  const peers = new Map<string, { sample: PeerSample; one: number[]; all: number[] }>();
  let versions: Record<string, string> = {};
  let opencvNote: string | undefined;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const metric of metrics) {
        const one = await sample(pair, metric, 1, minSeconds);
        const all = await sample(pair, metric, allThreads, minSeconds);
        const entry = ours.get(metric) ?? { value: one.value, one: [], all: [] };
        if (one.value !== entry.value || all.value !== entry.value) throw new Error(`${metric}: values differ between calls or thread counts: ${entry.value}, ${one.value}, ${all.value}`);
        entry.one.push(one.seconds);
        entry.all.push(all.seconds);
        ours.set(metric, entry);
      }
      let out: string;
      try {
        out = execFileSync(python, [path.join(packageRoot(), 'bench', 'metrics_peers.py'), aPath, bPath, String(size), String(size), String(minSeconds), String(allThreads), metrics.join(',')], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        });
      } catch (error) {
        throw new Error(`the peers failed (${python} bench/metrics_peers.py; it needs numpy and scikit-image, MEDPSIM_PYTHON names another Python): ${(error as Error).message}`);
      }
      const pass = JSON.parse(out) as PeerPass;
      versions = pass.versions;
      opencvNote = pass.opencv;
      for (const peer of pass.peers) {
        if (!metrics.includes(peer.metric)) continue;
        const key = `${peer.metric}|${peer.peer}`;
        const entry = peers.get(key) ?? { sample: peer, one: [], all: [] };
        entry.one.push(peer.seconds1);
        entry.all.push(peer.secondsAll ?? peer.seconds1);
        peers.set(key, entry);
      }
      process.stderr.write(`round ${round}/${rounds} done\n`);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }

  console.log(
    `| metric | engine MP/s, 1 thread | engine MP/s, ${allThreads} threads | peer | peer MP/s, 1 / ${allThreads} threads | ` +
      `engine / peer, 1 / ${allThreads} threads | engine value | peer value | abs(engine - peer) |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  let ssimVerdict = 'ssim: no scikit-image figure (not measured)';
  const behind: string[] = [];
  for (const metric of metrics) {
    const entry = ours.get(metric)!;
    const one = mps(pixels, median(entry.one));
    const all = mps(pixels, median(entry.all));
    const mine = [...peers.values()].filter((peer) => peer.sample.metric === metric);
    const head = `| ${metric} | ${fixed(one)} | ${fixed(all)} |`;
    if (mine.length === 0) {
      console.log(`${head} | | | ${formatValue(entry.value)} | | |`);
      continue;
    }
    for (const peer of mine) {
      const peerOne = mps(pixels, median(peer.one));
      const peerAll = mps(pixels, median(peer.all));
      const difference = Math.abs(entry.value - peer.sample.value);
      const note = DEFINITION_NOTE[peer.sample.peer] ?? '';
      const threadsNote = peer.sample.secondsAll === null ? ' (single-threaded)' : '';
      console.log(
        `${head} ${peer.sample.peer}${threadsNote} | ${fixed(peerOne)} / ${fixed(peerAll)} | ${(one / peerOne).toFixed(2)} / ${(all / peerAll).toFixed(2)} | ` +
          `${formatValue(entry.value)} | ${formatValue(peer.sample.value)} | ${difference.toExponential(1)} (${note}) |`,
      );
      if (one <= peerOne || all <= peerAll) behind.push(`${metric} against ${peer.sample.peer}: ${(one / peerOne).toFixed(2)} / ${(all / peerAll).toFixed(2)}`);
      if (peer.sample.peer === 'scikit-image structural_similarity') {
        const ratio = one / peerOne;
        ssimVerdict = `ssim on 1 thread against scikit-image: ${ratio.toFixed(2)}x (target 5x: ${ratio >= 5 ? 'met' : 'MISSED'})`;
      }
    }
  }
  // The fixed cost of one call (argument checks, the worker-thread hop, the promise): mse of a 16x16 pair.
  const tiny = new Float32Array(16 * 16).fill(0.5);
  const tinyPair: NativePair = { a: tiny, b: tiny, width: 16, height: 16, channels: 1, dataRange: 1 };
  const fixedCosts: number[] = [];
  for (let i = 0; i < rounds; i++) fixedCosts.push((await sample(tinyPair, 'mse', 1, minSeconds / 5)).seconds);
  const fixedCost = median(fixedCosts);
  console.log(`\nfixed cost of a score call (mse of a 16x16 pair, 1 thread): ${(fixedCost * 1e6).toFixed(0)} µs`);
  console.log(`${ssimVerdict}`);
  console.log(behind.length ? `NOT ahead of every peer (engine / peer, 1 / ${allThreads} threads):\n  ${behind.join('\n  ')}` : `ahead of every peer measured, on 1 and on ${allThreads} threads`);
  if (opencvNote) console.log(`OpenCV: ${opencvNote}`);
  console.log(
    `\n${size}x${size} greyscale float32 pair, ${rounds} rounds, samples of >= ${minSeconds} s, medians; machine: ${allThreads} cores, ${os.cpus()[0].model}; ` +
      `node ${process.version}; ${Object.entries(versions).map(([name, version]) => `${name} ${version}`).join(', ')}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
