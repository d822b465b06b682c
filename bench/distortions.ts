/**
 * Distortion engine benchmark: every native catalog kind at severity 0.5 (paramsForSeverity) on 256x256 and
 * 1024x1024 single-channel float phantoms (colour kinds on 3-channel ones), one image per call through the addon
 * (`nativeEngine().distort`, its worker thread, into an `out` array kept for the cell), on 1 thread and on all
 * threads; beside, in the same run and on the same pixels:
 *
 * - OpenCV (bench/distortions_opencv.py, started once and kept running: Debian's python3-opencv), for every kind
 *   with an OpenCV (plus numpy) equivalent, with cv2.setNumThreads at the same thread count, timed inside Python
 *   (time.perf_counter). What each peer does and where it approximates the engine: the notes the peer prints.
 * - sharp (libvips) for the operations sharp has: Gaussian blur, affine warp, JPEG round trip.
 *
 * Each (kind, size, threads) cell: a warm-up call of each side (their outputs are compared: max |engine - OpenCV|
 * for deterministic kinds, flagged above 1e-3 where both compute the same thing; mean and standard deviation of
 * (output - input) for random ones, flagged when they disagree), then samples interleaved engine, OpenCV, sharp,
 * engine, ... (at least --rounds each, more for fast kinds, up to --cell-seconds per cell); a sample is as many
 * calls as fill --sample-seconds (at least one), its figure the mean ms per call; the figure is the median of the
 * samples. Ratios are peer ms / engine ms (> 1: the engine is faster). Pointwise kinds also in GB/s per core
 * (bytes read + written, 1 thread), one image per call and 16 per call.
 *
 *   npm run bench:distortions
 *   npm run bench:distortions -- --kinds gaussian_blur,affine,jpeg --sizes 256 --threads 1
 *   options: --kinds a,b; --sizes 256,1024; --threads 1,N (default 1 and all cores); --rounds N (minimum samples
 *            per side, default 5); --sample-seconds S (default 0.05); --cell-seconds S (default 1.5);
 *            MEDPSIM_PYTHON (default /usr/bin/python3) runs the OpenCV peer
 *
 * Old against new engine (another checkout, built: its addon in DIR/build/Release and its TypeScript in DIR/dist),
 * each engine in a child process of its own (two builds of the addon cannot share one), samples interleaved old,
 * new, old, ..., each engine with its own catalog's parameters at severity 0.5; no peers:
 *
 *   npm run bench:distortions -- --old-engine /tmp/old-engine --kinds quantum_noise,scatter,grid_lines,exposure --threads 1
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { argument, median, option } from './support';
import { applyDistortion } from '../src/distortions/apply';
import { NATIVE_KINDS, findKind, type KindSpec } from '../src/distortions/catalog';
import { nativeEngine, type FloatImage, type NativeEngine } from '../src/platform/native';
import { packageRoot } from '../src/platform/paths';
import { paramsForSeverity } from '../src/distortions/spec';
import { renderPhantom } from '../src/synth/phantom';

const POINTWISE = new Set(['lightness_shift', 'color_shift', 'contrast', 'saturation', 'exposure', 'windowing', 'grid_lines', 'uniform_noise', 'gaussian_noise']);
const BATCH = 16;
/** Deterministic kinds whose OpenCV peer computes the same thing: |engine - OpenCV| above this is flagged. */
const AGREE_TOLERANCE = 1e-3;
const AGREE = new Set([
  'lightness_shift', 'color_shift', 'contrast', 'saturation', 'windowing', 'gaussian_blur', 'shift', 'ghosting', 'motion_blur',
  'resolution_loss', 'scatter', 'grid_lines', 'exposure',
]);
/** Deterministic kinds whose peer approximates the engine: the difference is printed, with why it is not rounding. */
const APPROXIMATE: Record<string, string> = {
  bilateral: 'disc window and tabulated range weights in OpenCV',
  affine: 'OpenCV rounds source positions to 1/32 px',
  homography: 'OpenCV rounds source positions to 1/32 px',
  linear_warp: 'OpenCV rounds source positions to 1/32 px',
  cubic_warp: 'OpenCV rounds source positions to 1/32 px',
  jpeg: "libjpeg's integer DCT against the engine's double DCT",
};
/** Kinds whose peer translates by (dx, dy) through warpAffine: also checked against the engine at OpenCV's 1/32-px shift. */
const QUANTISED_SHIFT = new Set(['shift', 'ghosting']);

function phantom(size: number, channels: 1 | 3): FloatImage {
  const grey = renderPhantom({ width: size, height: size, label: 'PNEUMONIA', seed: 1 });
  if (channels === 1) return { data: grey, width: size, height: size, channels };
  const data = new Float32Array(grey.length * 3);
  data.set(grey, 0);
  data.set(grey.map((v) => v * 0.85), grey.length);
  data.set(grey.map((v) => v * 0.7), grey.length * 2);
  return { data, width: size, height: size, channels };
}

const list = (name: string, fallback: string) => (argument(name) ?? fallback).split(',').filter(Boolean);
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const ms = (s: number) => (s * 1e3 >= 100 ? (s * 1e3).toFixed(0) : s * 1e3 >= 10 ? (s * 1e3).toFixed(1) : (s * 1e3).toPrecision(3));

/** Mean seconds per call of `reps` awaited calls. */
async function timed(call: () => Promise<unknown>, reps: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) await call();
  return seconds(start) / reps;
}

// ----- The OpenCV peer process (bench/distortions_opencv.py): JSON lines, some followed by raw float32 bytes.

interface Reply {
  header: Record<string, unknown> & { bytes: number; error?: string };
  body: Buffer;
}

class OpenCvPeer {
  private chunks: Buffer[] = [];
  private length = 0;
  private header: Reply['header'] | null = null;
  private waiting: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];
  private stderr = '';
  private nextId = 1;

  private constructor(private child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      this.drain();
    });
    child.stderr.on('data', (chunk) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    child.on('exit', (code, signal) => {
      const error = new Error(`the OpenCV peer exited (${code ?? signal}):\n${this.stderr}`);
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    });
  }

  static start(python: string): OpenCvPeer {
    const script = path.join(packageRoot(), 'bench', 'distortions_opencv.py');
    return new OpenCvPeer(spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length = all.length - n;
    return all.subarray(0, n);
  }

  private drain(): void {
    for (;;) {
      if (!this.header) {
        const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
        this.chunks = [all];
        const end = all.indexOf(10);
        if (end < 0) return;
        this.header = JSON.parse(all.subarray(0, end).toString('utf8'));
        this.take(end + 1);
      }
      const header = this.header!;
      if (this.length < header.bytes) return;
      const body = Buffer.from(this.take(header.bytes)); // a copy: aligned, and not a view of later chunks
      this.header = null;
      const waiter = this.waiting.shift();
      if (!waiter) throw new Error('the OpenCV peer sent a reply nobody asked for');
      if (header.error) waiter.reject(new Error(`OpenCV peer: ${header.error}`));
      else waiter.resolve({ header, body });
    }
  }

  private request(header: Record<string, unknown>, payload?: Float32Array): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(header)}\n`);
      if (payload) this.child.stdin.write(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
    });
  }

  async hello(): Promise<{ versions: Record<string, string>; kinds: Record<string, string> }> {
    return (await this.request({ op: 'hello' })).header as never;
  }

  async image(image: FloatImage): Promise<number> {
    const id = this.nextId++;
    await this.request({ op: 'image', id, width: image.width, height: image.height, channels: image.channels }, image.data);
    return id;
  }

  /** Mean seconds per call of `reps` calls timed inside Python, and the last call's output when asked for. */
  async run(id: number, kind: string, params: Record<string, number>, threads: number, reps: number, output = false): Promise<{ seconds: number; output: Float32Array | null }> {
    const { header, body } = await this.request({ op: 'run', id, kind, params, seed: 1, threads, reps, output });
    return { seconds: header.seconds as number, output: output ? new Float32Array(body.buffer, body.byteOffset, body.length / 4) : null };
  }

  close(): void {
    this.child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
  }
}

// ----- Measurement: contestants sampled in turn.

interface Contestant {
  name: string;
  /** Mean seconds per call of `reps` calls. */
  sample(reps: number): Promise<number>;
  estimate: number;
  samples: number[];
  reps: number;
}

async function interleave(contestants: Contestant[], minRounds: number, sampleSeconds: number, cellSeconds: number): Promise<void> {
  let round = 0;
  for (const c of contestants) {
    c.reps = Math.max(1, Math.ceil(sampleSeconds / Math.max(c.estimate, 1e-7)));
  }
  const perRound = contestants.reduce((sum, c) => sum + c.reps * c.estimate, 0);
  const rounds = Math.max(minRounds, Math.min(4 * minRounds, Math.floor(cellSeconds / Math.max(perRound, 1e-9))));
  for (; round < rounds; round++) {
    for (const c of contestants) c.samples.push(await c.sample(c.reps));
  }
}

function diffStats(a: Float32Array, b: Float32Array): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > max || Number.isNaN(d)) max = Number.isNaN(d) ? Infinity : d;
    sum += d;
  }
  return { max, mean: sum / a.length };
}

/** Mean and standard deviation of (output - input). */
function residual(output: Float32Array, input: Float32Array): { mean: number; sd: number } {
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < input.length; i++) {
    const d = output[i] - input[i];
    sum += d;
    sq += d * d;
  }
  const mean = sum / input.length;
  return { mean, sd: Math.sqrt(Math.max(0, sq / input.length - mean * mean)) };
}

/** The engine's parameters with dx and dy rounded to OpenCV's 1/32-px positions. */
const toThirtySeconds = (params: Record<string, number>) => ({ ...params, dx: Math.round(params.dx * 32) / 32, dy: Math.round(params.dy * 32) / 32 });

/** Whether this step draws random numbers the peer cannot reproduce (homography and the warps: the seeded geometry is ported). */
function drawsNoise(kind: KindSpec, params: Record<string, number>): boolean {
  if (kind.name === 'exposure') return params.exposure < 1;
  return kind.random && !['homography', 'linear_warp', 'cubic_warp'].includes(kind.name);
}

interface Check {
  text: string;
  flagged: boolean;
}

async function outputCheck(kind: KindSpec, image: FloatImage, params: Record<string, number>, ours: Float32Array, theirs: Float32Array, threads: number): Promise<Check> {
  const e = (v: number) => v.toExponential(1);
  if (drawsNoise(kind, params)) {
    const a = residual(ours, image.data);
    const b = residual(theirs, image.data);
    const sd = Math.max(a.sd, b.sd);
    const flagged = Math.abs(a.sd - b.sd) > 0.05 * sd + 1e-4 || Math.abs(a.mean - b.mean) > 0.1 * sd + 1e-4;
    return { text: `out - in: mean ${e(a.mean)} / ${e(b.mean)}, sd ${a.sd.toPrecision(4)} / ${b.sd.toPrecision(4)}${flagged ? ' **DIFFER**' : ''}`, flagged };
  }
  const d = diffStats(ours, theirs);
  let text = `max ${e(d.max)}, mean ${e(d.mean)}`;
  let judged = d.max;
  if (QUANTISED_SHIFT.has(kind.name)) {
    const [atOpenCv] = await nativeEngine().distort([{ ...image, seed: 1n }], [{ kind: kind.name, params: toThirtySeconds(params) }], { threads });
    judged = diffStats(atOpenCv, theirs).max;
    text += `; at 1/32 px: max ${e(judged)}`;
  }
  if (AGREE.has(kind.name)) {
    const flagged = !(judged <= AGREE_TOLERANCE);
    return { text: flagged ? `${text} **ABOVE ${AGREE_TOLERANCE}**` : text, flagged };
  }
  return { text: `${text} (${APPROXIMATE[kind.name] ?? 'approximate'})`, flagged: false };
}

// ----- sharp, for the three operations it has.

function sharpCall(kind: string, image: FloatImage, params: Record<string, number>): (() => Promise<unknown>) | null {
  if (image.channels !== 1) return null;
  const { width, height } = image;
  const raw = { raw: { width, height, channels: 1 as const } };
  if (kind === 'gaussian_blur') return () => sharp(image.data, raw).blur(Math.max(0.3, params.sigma)).raw().toBuffer();
  if (kind === 'affine') {
    const angle = (params.rotation * Math.PI) / 180;
    const [c, s] = [Math.cos(angle) * params.scale, Math.sin(angle) * params.scale];
    return () => sharp(image.data, raw).affine([c, -s, s, c], { interpolator: 'bilinear' }).extract({ left: 0, top: 0, width, height }).raw().toBuffer();
  }
  if (kind === 'jpeg') {
    const bytes = Buffer.from(image.data.map((v) => Math.round(v * 255)));
    return async () => {
      const encoded = await sharp(bytes, raw).jpeg({ quality: params.quality, chromaSubsampling: '4:4:4' }).toBuffer();
      return sharp(encoded).raw().toBuffer();
    };
  }
  return null;
}

function contestant(name: string, estimate: number, sample: (reps: number) => Promise<number>): Contestant {
  return { name, sample, estimate, samples: [], reps: 1 };
}

interface Cell {
  kind: string;
  size: number;
  threads: number;
  engine: number;
  opencv: number | null;
  sharp: number | null;
  batch: number | null;
  bytes: number;
  check: Check | null;
}

const ratioText = (r: number) => (r >= 0.1 ? r.toFixed(2) : r.toPrecision(2));
const geomean = (values: number[]) => Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);

async function main(): Promise<void> {
  const served = argument('serve-engine');
  if (served) return serveEngine(served);
  const oldEngineDir = argument('old-engine');
  if (oldEngineDir) return oldAgainstNew(oldEngineDir);
  const kinds = list('kinds', NATIVE_KINDS.map((kind) => kind.name).join(','));
  const sizes = list('sizes', '256,1024').map(Number);
  const allThreads = os.availableParallelism();
  const threadCounts = list('threads', `1,${allThreads}`).map(Number);
  const minRounds = Math.round(option('rounds', 5));
  const sampleSeconds = option('sample-seconds', 0.05);
  const cellSeconds = option('cell-seconds', 1.5);
  const python = process.env.MEDPSIM_PYTHON || '/usr/bin/python3';

  const peer = OpenCvPeer.start(python);
  let hello: Awaited<ReturnType<OpenCvPeer['hello']>>;
  try {
    hello = await peer.hello();
  } catch (error) {
    throw new Error(`the OpenCV peer failed (${python} bench/distortions_opencv.py needs numpy and cv2; MEDPSIM_PYTHON names another Python): ${(error as Error).message}`);
  }
  const cells: Cell[] = [];
  const started = process.hrtime.bigint();
  try {
    for (const name of kinds) {
      const kind = findKind(name);
      if (!kind) throw new Error(`unknown kind ${name}`);
      for (const size of sizes) {
        const image = phantom(size, kind.needsColor ? 3 : 1);
        const params = paramsForSeverity(kind, 0.5, image);
        const hasPeer = name in hello.kinds;
        const id = hasPeer ? await peer.image(image) : 0;
        const sharpRun = sharpCall(name, image, params);
        for (const threads of threadCounts) {
          // Into one output array, kept for the cell: the peer's numpy output is freed when dropped and malloc
          // hands the same block back, so both sides write into warm memory.
          const out = new Float32Array(image.data.length);
          const distort = () => nativeEngine().distort([{ ...image, seed: 1n, out }], [{ kind: name, params }], { threads });
          // Warm-ups: their outputs are checked, a second call of each side gives the estimate.
          const ours = (await distort())[0].slice();
          const contestants = [contestant('engine', await timed(distort, 1), (reps) => timed(distort, reps))];
          let check: Check | null = null;
          if (hasPeer) {
            const first = await peer.run(id, name, params, threads, 1, true);
            check = await outputCheck(kind, image, params, ours, first.output!, threads);
            const estimate = (await peer.run(id, name, params, threads, 1)).seconds;
            contestants.push(contestant('opencv', estimate, async (reps) => (await peer.run(id, name, params, threads, reps)).seconds));
          }
          if (sharpRun) {
            const call = () => {
              sharp.concurrency(threads);
              return sharpRun();
            };
            await call();
            contestants.push(contestant('sharp', await timed(call, 1), (reps) => timed(call, reps)));
          }
          if (POINTWISE.has(name) && threads === 1) {
            const batch = Array.from({ length: BATCH }, (_, i) => ({ ...image, seed: BigInt(i + 1), out: new Float32Array(image.data.length) }));
            const call = () => nativeEngine().distort(batch, [{ kind: name, params }], { threads: 1 });
            await call();
            // The estimate is per call (of BATCH images), what reps are sized by; the samples per image.
            contestants.push(contestant('batch', await timed(call, 1), async (reps) => (await timed(call, reps)) / BATCH));
          }
          await interleave(contestants, minRounds, sampleSeconds, cellSeconds);
          const figure = (who: string) => {
            const c = contestants.find((x) => x.name === who);
            return c ? median(c.samples) : null;
          };
          const cell: Cell = {
            kind: name, size, threads, engine: figure('engine')!, opencv: figure('opencv'), sharp: figure('sharp'), batch: figure('batch'),
            bytes: image.data.byteLength, check,
          };
          cells.push(cell);
          const ratio = cell.opencv ? `, OpenCV ${ms(cell.opencv)} ms (${(cell.opencv / cell.engine).toFixed(2)}x)` : '';
          process.stderr.write(`${name} ${size} ${threads}t: engine ${ms(cell.engine)} ms${ratio}${check ? `; ${check.text}` : ''} [${seconds(started).toFixed(0)} s]\n`);
        }
      }
    }
  } finally {
    peer.close();
  }

  // Table 1: against OpenCV, one row per kind and size, the thread counts side by side.
  const slash = threadCounts.join(' / ');
  console.log(`| kind | size | engine ms, ${slash} threads | OpenCV ms, ${slash} | OpenCV / engine, ${slash} | output check: engine vs OpenCV |`);
  console.log('|---|---|---|---|---|---|');
  for (const name of kinds) {
    for (const size of sizes) {
      const row = cells.filter((c) => c.kind === name && c.size === size);
      const engineText = row.map((c) => ms(c.engine)).join(' / ');
      if (row[0].opencv === null) {
        console.log(`| ${name} | ${size} | ${engineText} | no peer | | |`);
        continue;
      }
      const checks = row.map((c, i) => (i === 0 || c.check!.text !== row[0].check!.text ? `${i ? `; ${c.threads} threads: ` : ''}${c.check!.text}` : '')).join('');
      console.log(
        `| ${name} | ${size} | ${engineText} | ${row.map((c) => ms(c.opencv!)).join(' / ')} | ${row.map((c) => ratioText(c.opencv! / c.engine)).join(' / ')} | ${checks} |`,
      );
    }
  }
  console.log('\n| size | threads | kinds with a peer | geometric mean OpenCV / engine | slowest against OpenCV (ratio) |');
  console.log('|---|---|---|---|---|');
  for (const size of sizes) {
    for (const threads of threadCounts) {
      const mine = cells.filter((c) => c.size === size && c.threads === threads && c.opencv !== null);
      if (mine.length === 0) continue;
      const ratios = mine.map((c) => ({ kind: c.kind, ratio: c.opencv! / c.engine })).sort((a, b) => a.ratio - b.ratio);
      const worst = ratios.slice(0, 4).map((r) => `${r.kind} ${ratioText(r.ratio)}`).join(', ');
      console.log(`| ${size} | ${threads} | ${mine.length} | **${geomean(ratios.map((r) => r.ratio)).toFixed(2)}** | ${worst} |`);
    }
  }
  const flagged = cells.filter((c) => c.check?.flagged);
  console.log(flagged.length ? `\nOUTPUT CHECKS FLAGGED: ${flagged.map((c) => `${c.kind} ${c.size} ${c.threads}t`).join(', ')}` : '\nno output check flagged');

  // Table 2: images/s, sharp, GB/s (the same samples).
  const threadsHead = threadCounts.map((t) => `img/s, ${t} thread${t > 1 ? 's' : ''}`).join(' | ');
  console.log(`\n| kind | size | ${threadsHead} | sharp img/s, ${slash} threads | sharp ms / engine ms, ${slash} | GB/s per core, 1 / ${BATCH} per call |`);
  console.log(`|---|---|${threadCounts.map(() => '---|').join('')}---|---|---|`);
  for (const name of kinds) {
    for (const size of sizes) {
      const row = cells.filter((c) => c.kind === name && c.size === size);
      const rates = row.map((c) => (1 / c.engine).toFixed(1)).join(' | ');
      const withSharp = row.filter((c) => c.sharp !== null);
      const sharpText = withSharp.length ? withSharp.map((c) => (1 / c.sharp!).toFixed(1)).join(' / ') : '';
      const sharpRatio = withSharp.length ? withSharp.map((c) => (c.sharp! / c.engine).toFixed(2)).join(' / ') : '';
      const one = row.find((c) => c.threads === 1 && c.batch !== null);
      const gb = (secondsPerImage: number) => ((one!.bytes * 2) / secondsPerImage / 1e9).toFixed(2);
      console.log(`| ${name} | ${size} | ${rates} | ${sharpText} | ${sharpRatio} | ${one ? `${gb(one.engine)} / ${gb(one.batch!)}` : ''} |`);
    }
  }

  console.log('\nOpenCV peers (bench/distortions_opencv.py):');
  for (const [name, note] of Object.entries(hello.kinds)) if (kinds.includes(name)) console.log(`- ${name}: ${note}`);
  // The fixed cost of one distort call (argument checks, the worker-thread hop, the promise, the result's
  // allocation), which every engine figure above includes and the peer's in-Python timing does not.
  const tiny: FloatImage = { data: new Float32Array(16 * 16).fill(0.5), width: 16, height: 16, channels: 1 };
  const tinyOut = new Float32Array(tiny.data.length);
  const tinyCall = () => nativeEngine().distort([{ ...tiny, seed: 1n, out: tinyOut }], [{ kind: 'lightness_shift', params: { delta: 0.1 } }], { threads: 1 });
  await timed(tinyCall, 100);
  const fixedSamples: number[] = [];
  for (let i = 0; i < 5; i++) fixedSamples.push(await timed(tinyCall, 500));
  const fixed = median(fixedSamples);
  console.log(`\nfixed cost of a distort call (lightness_shift of a 16x16 image, 1 thread): ${(fixed * 1e6).toFixed(0)} µs`);
  // applyDistortion is what the jobs call: check the TypeScript layer adds nothing measurable.
  const image = phantom(1024, 1);
  const viaApply = () => applyDistortion(image, [{ kind: 'gaussian_blur', severity: 0.5 }], 1, 'CPU');
  await viaApply();
  const applied = median([await timed(viaApply, 3), await timed(viaApply, 3), await timed(viaApply, 3)]);
  console.log(`\napplyDistortion(gaussian_blur, 1024, all threads): ${(1 / applied).toFixed(1)} img/s`);
  console.log(
    `machine: ${allThreads} cores, ${os.cpus()[0].model}; node ${process.version}; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}; ` +
      `${Object.entries(hello.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; ${minRounds}+ samples per side, samples of >= ${sampleSeconds} s, medians; ` +
      `${seconds(started).toFixed(0)} s`,
  );
}

// ----- Old against new engine: one child process per engine (this script with --serve-engine DIR). Two builds of
// the addon cannot share a process: the catalog's static tables are STB_GNU_UNIQUE symbols, so the second build
// loaded would bind to the first one's catalog.

interface EngineReply {
  seconds: number;
  params: Record<string, number>;
  mean: number;
  error?: string;
}

/** The child: DIR's addon, catalog and severity mapping; per JSON line {kind, size, threads, reps}, the mean seconds per call. */
async function serveEngine(dir: string): Promise<void> {
  const root = path.resolve(dir);
  const engine = require(path.join(root, 'build', 'Release', 'medpsim_native.node')) as NativeEngine;
  const catalog = require(path.join(root, 'dist', 'src', 'distortions', 'catalog.js')) as { findKind(name: string): KindSpec | undefined };
  const spec = require(path.join(root, 'dist', 'src', 'distortions', 'spec.js')) as { paramsForSeverity: typeof paramsForSeverity };
  const { createInterface } = await import('node:readline');
  const cells = new Map<string, { image: FloatImage; params: Record<string, number> }>();
  for await (const line of createInterface({ input: process.stdin })) {
    const request = JSON.parse(line) as { kind: string; size: number; threads: number; reps: number };
    let reply: EngineReply;
    try {
      const kind = catalog.findKind(request.kind);
      if (!kind) throw new Error(`${request.kind} is not in ${root}'s catalog`);
      const key = `${request.kind}|${request.size}`;
      if (!cells.has(key)) {
        const image = phantom(request.size, kind.needsColor ? 3 : 1);
        cells.set(key, { image, params: spec.paramsForSeverity(kind, 0.5, image) });
      }
      const { image, params } = cells.get(key)!;
      const call = () => engine.distort([{ ...image, seed: 1n }], [{ kind: request.kind, params }], { threads: request.threads });
      const [out] = await call();
      const secondsPerCall = await timed(call, request.reps);
      reply = { seconds: secondsPerCall, params, mean: out.reduce((sum, v) => sum + v, 0) / out.length };
    } catch (error) {
      reply = { seconds: NaN, params: {}, mean: NaN, error: (error as Error).message };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}

class EngineChild {
  private waiting: Array<(line: string) => void> = [];
  private child: ChildProcessWithoutNullStreams;
  private stderr = '';

  constructor(readonly dir: string) {
    this.child = spawn(process.execPath, [__filename, '--serve-engine', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let pending = '';
    this.child.stdout.on('data', (chunk) => {
      pending += chunk;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        this.waiting.shift()?.(line);
      }
    });
    this.child.stderr.on('data', (chunk) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    this.child.on('exit', () => {
      for (const waiter of this.waiting.splice(0)) waiter('');
    });
  }

  /** One sample: a warm-up call, then `reps` calls timed in the child. */
  async sample(kind: string, size: number, threads: number, reps: number): Promise<EngineReply> {
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`${JSON.stringify({ kind, size, threads, reps })}\n`);
    });
    if (!line) throw new Error(`the engine child for ${this.dir} exited:\n${this.stderr}`);
    const reply = JSON.parse(line) as EngineReply;
    if (reply.error) throw new Error(`${this.dir}: ${reply.error}`);
    return reply;
  }

  close(): void {
    this.child.stdin.end();
  }
}

async function oldAgainstNew(dir: string): Promise<void> {
  const kinds = list('kinds', 'quantum_noise,scatter,grid_lines,exposure');
  const sizes = list('sizes', '1024,256').map(Number);
  const threadCounts = list('threads', '1').map(Number);
  const minRounds = Math.round(option('rounds', 7));
  const sampleSeconds = option('sample-seconds', 0.2);
  const oldDir = path.resolve(dir);
  if (oldDir === packageRoot()) throw new Error('--old-engine names this checkout');
  const engines = [new EngineChild(oldDir), new EngineChild(packageRoot())];
  console.log(`old engine: ${oldDir}; new engine: ${packageRoot()}; severity 0.5, each with its own catalog's parameters`);
  console.log('\n| kind | size | threads | old params | new params | old ms | new ms | new / old |');
  console.log('|---|---|---|---|---|---|---|---|');
  try {
    for (const name of kinds) {
      for (const size of sizes) {
        for (const threads of threadCounts) {
          // Warm-up and estimate of each, then samples of >= sampleSeconds interleaved old, new, old, ...
          const first = await Promise.all(engines.map((engine) => engine.sample(name, size, threads, 1)));
          if (first[0].mean === first[1].mean) process.stderr.write(`warning: ${name} ${size}: old and new outputs have the same mean\n`);
          const contestants = engines.map((engine, i) =>
            contestant(i === 0 ? 'old' : 'new', first[i].seconds, async (reps) => (await engine.sample(name, size, threads, reps)).seconds),
          );
          await interleave(contestants, minRounds, sampleSeconds, 0);
          const [oldMs, newMs] = contestants.map((c) => median(c.samples));
          const p = (params: Record<string, number>) => Object.entries(params).map(([k, v]) => `${k} ${v}`).join(', ');
          console.log(`| ${name} | ${size} | ${threads} | ${p(first[0].params)} | ${p(first[1].params)} | ${ms(oldMs)} | ${ms(newMs)} | **${(newMs / oldMs).toFixed(2)}** |`);
          process.stderr.write(`${name} ${size} ${threads}t: old ${contestants[0].samples.map(ms).join(' ')} / new ${contestants[1].samples.map(ms).join(' ')}\n`);
        }
      }
    }
  } finally {
    for (const engine of engines) engine.close();
  }
  console.log(
    `\nmachine: ${os.availableParallelism()} cores, ${os.cpus()[0].model}; node ${process.version}; each engine in a child process of its own, ` +
      `${minRounds} samples per side interleaved, each a warm-up call then calls filling >= ${sampleSeconds} s, medians`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
