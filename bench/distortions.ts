/**
 * Distortion engine benchmark: every native catalog kind at severity 0.5 on 256x256 and 1024x1024 single-channel
 * float phantoms (colour kinds on 3-channel ones), on 1 thread and on all threads, in images/s; beside sharp
 * (libvips) in the same run for the operations sharp has: Gaussian blur, affine warp, JPEG round trip.
 * Pointwise kinds also in GB/s per core (bytes read + written, 1 thread), one image per call and 16 per call.
 *
 *   npm run bench:distortions
 *   npm run bench:distortions -- --kinds gaussian_blur,affine,jpeg --sizes 256
 */
import os from 'node:os';
import sharp from 'sharp';
import { applyDistortion } from '../src/distortions/apply';
import { NATIVE_KINDS, findKind } from '../src/distortions/catalog';
import { nativeEngine, type FloatImage } from '../src/platform/native';
import { paramsForSeverity } from '../src/distortions/spec';
import { renderPhantom } from '../src/synth/phantom';

const POINTWISE = new Set(['lightness_shift', 'color_shift', 'contrast', 'saturation', 'exposure', 'windowing', 'grid_lines', 'uniform_noise', 'gaussian_noise']);
const MIN_SECONDS = 0.4;
const BATCH = 16;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function phantom(size: number, channels: 1 | 3): FloatImage {
  const grey = renderPhantom({ width: size, height: size, label: 'PNEUMONIA', seed: 1 });
  if (channels === 1) return { data: grey, width: size, height: size, channels };
  const data = new Float32Array(grey.length * 3);
  data.set(grey, 0);
  data.set(grey.map((v) => v * 0.85), grey.length);
  data.set(grey.map((v) => v * 0.7), grey.length * 2);
  return { data, width: size, height: size, channels };
}

/** Images per second of `run` (one image per call), repeated until MIN_SECONDS have passed. */
async function rate(run: () => Promise<unknown>): Promise<number> {
  await run(); // warm-up
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < MIN_SECONDS || count < 2) {
    await run();
    count++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsed > 20) break; // very slow kinds: one or two runs are enough
  }
  return count / elapsed;
}

async function sharpPeer(kind: string, image: FloatImage, params: Record<string, number>, threads: number): Promise<number | null> {
  sharp.concurrency(threads);
  const { width, height } = image;
  const raw = { raw: { width, height, channels: 1 as const } };
  if (kind === 'gaussian_blur') {
    return rate(() => sharp(image.data, raw).blur(Math.max(0.3, params.sigma)).raw().toBuffer());
  }
  if (kind === 'affine') {
    const angle = (params.rotation * Math.PI) / 180;
    const [c, s] = [Math.cos(angle) * params.scale, Math.sin(angle) * params.scale];
    return rate(() => sharp(image.data, raw).affine([c, -s, s, c], { interpolator: 'bilinear' }).extract({ left: 0, top: 0, width, height }).raw().toBuffer());
  }
  if (kind === 'jpeg') {
    const bytes = Buffer.from(image.data.map((v) => Math.round(v * 255)));
    return rate(async () => {
      const encoded = await sharp(bytes, raw).jpeg({ quality: params.quality, chromaSubsampling: '4:4:4' }).toBuffer();
      return sharp(encoded).raw().toBuffer();
    });
  }
  return null;
}

async function main(): Promise<void> {
  const kinds = argument('kinds')?.split(',') ?? NATIVE_KINDS.map((kind) => kind.name);
  const sizes = (argument('sizes') ?? '256,1024').split(',').map(Number);
  const allThreads = os.availableParallelism();
  console.log(
    `| kind | size | img/s, 1 thread | img/s, ${allThreads} threads | sharp img/s, 1 / ${allThreads} threads | ours / sharp, 1 / ${allThreads} | ` +
      `GB/s per core, 1 / ${BATCH} per call |`,
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const name of kinds) {
    const kind = findKind(name);
    if (!kind) throw new Error(`unknown kind ${name}`);
    for (const size of sizes) {
      const image = phantom(size, kind.needsColor ? 3 : 1);
      const params = paramsForSeverity(kind, 0.5, image);
      const distort = (threads: number) => () => nativeEngine().distort([{ ...image, seed: 1n }], [{ kind: name, params }], { threads });
      const ours = [await rate(distort(1)), await rate(distort(allThreads))];
      const peer = [await sharpPeer(name, image, params, 1), await sharpPeer(name, image, params, allThreads)];
      const ratio = peer[0] ? `${(ours[0] / peer[0]).toFixed(2)} / ${(ours[1] / peer[1]!).toFixed(2)}` : '';
      // Per core, one image per call and a batch per call (the per-call cost of the worker-thread hop and
      // the result's allocation spread over the batch).
      let gbPerSecond = '';
      if (POINTWISE.has(name)) {
        const batch = Array.from({ length: BATCH }, (_, i) => ({ ...image, seed: BigInt(i + 1) }));
        const batched = BATCH * (await rate(() => nativeEngine().distort(batch, [{ kind: name, params }], { threads: 1 })));
        const gb = (imagesPerSecond: number) => ((imagesPerSecond * image.data.byteLength * 2) / 1e9).toFixed(2);
        gbPerSecond = `${gb(ours[0])} / ${gb(batched)}`;
      }
      const peerText = peer[0] ? `${peer[0].toFixed(1)} / ${peer[1]!.toFixed(1)}` : '';
      console.log(`| ${name} | ${size} | ${ours[0].toFixed(1)} | ${ours[1].toFixed(1)} | ${peerText} | ${ratio} | ${gbPerSecond} |`);
    }
  }
  // applyDistortion is what the jobs call: check the TypeScript layer adds nothing measurable.
  const image = phantom(1024, 1);
  const viaApply = await rate(() => applyDistortion(image, [{ kind: 'gaussian_blur', severity: 0.5 }], 1, 'CPU'));
  console.log(`\napplyDistortion(gaussian_blur, 1024, all threads): ${viaApply.toFixed(1)} img/s`);
  console.log(`machine: ${allThreads} cores, ${os.cpus()[0].model}; node ${process.version}; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
