/**
 * Generator zoo benchmark: what one member costs, and so what BAPPS's 96 cost. Draws --members members with
 * the default knob ranges (src/training/zoo-knobs.ts, the zoo's seed --seed) and trains each as the TRAIN_ZOO
 * job does, one `python -m medpsim_training train-gan` per member (process start, data loading, training,
 * ONNX export, parity data and the guard included), on --images synthetic phantoms, --epochs epochs, at each
 * --sizes size. The peer, in the same run on the same data, is one train-gan with its own defaults (pix2pix's
 * generator: 6 levels, 64 channels, a 3-layer discriminator; the study's single GAN), run between members.
 * Each figure is the median over members (the peer's over its runs); a 96-member zoo is extrapolated from the
 * median at one trainer per worker.
 *
 *   npm run bench:zoo
 *   npm run bench:zoo -- --members 6 --sizes 64,256 --epochs 1 --device cpu
 *   options: --members N (4), --sizes LIST (64,256), --epochs N (1), --images N (24), --seed N (1),
 *            --device auto|cpu|cuda (cpu); MEDPSIM_PYTHON (default /usr/bin/python3)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { argument, median, option } from './support';
import { packageRoot } from '../src/platform/paths';
import { synthesizeDataset } from '../src/synth/dataset';
import { trainerArgs, TrainingDevice, TrainingTask, type TrainingOptions } from '../src/training/options';
import { defaultRanges, drawKnobs, knobOptions, type Knobs } from '../src/training/zoo-knobs';

const python = process.env.MEDPSIM_PYTHON || '/usr/bin/python3';

function train(data: string, out: string, name: string, options: TrainingOptions, device: TrainingDevice): number {
  const args = ['-m', 'medpsim_training', ...trainerArgs({ task: TrainingTask.GAN, name, device, options }, data, out)];
  const started = process.hrtime.bigint();
  const run = spawnSync(python, args, { cwd: path.join(packageRoot(), 'training'), encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`train-gan ${name} exited with ${run.status}: ${run.stderr.split('\n').slice(-5).join('\n')}`);
  return seconds;
}

const brief = (knobs: Knobs) =>
  `${knobs.objective} L${knobs.gLayers} C${knobs.gChannels} ${knobs.gUpsample} ${knobs.gNorm} s${knobs.gFirstStride}${knobs.dLayers ? ` D${knobs.dLayers}` : ''}`;

async function main(): Promise<void> {
  const members = option('members', 4);
  const epochs = option('epochs', 1);
  const images = option('images', 24);
  const seed = option('seed', 1);
  const sizes = (argument('sizes') ?? '64,256').split(',').map(Number);
  const device = (argument('device') ?? 'cpu').toUpperCase() as TrainingDevice;
  const work = mkdtempSync(path.join(os.tmpdir(), 'medpsim-bench-zoo-'));
  const ranges = defaultRanges();
  console.log(`zoo bench: ${members} members with the default ranges (seed ${seed}), ${epochs} epoch(s), ${images} phantoms, device ${device}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model})`);
  try {
    const rows: string[] = [];
    for (const size of sizes) {
      const data = path.join(work, `phantoms-${size}`);
      await synthesizeDataset({ outDir: data, count: images, width: size, height: size, seed: 3 });
      const fixed: TrainingOptions = { epochs, imageSize: size, batchSize: 8 };
      const memberSeconds: number[] = [];
      const peerSeconds: number[] = [];
      for (let index = 0; index < members; index++) {
        const knobs = drawKnobs(ranges, seed, index, 0);
        const seconds = train(data, path.join(work, 'out'), `m${index}`, { ...fixed, ...knobOptions(knobs), seed: index }, device);
        memberSeconds.push(seconds);
        console.log(`  ${size}px member ${index} (${brief(knobs)}): ${seconds.toFixed(2)} s`);
        // The peer between members, so that both see the same machine state.
        if (index % 2 === 0) {
          const peer = train(data, path.join(work, 'out'), 'peer', { ...fixed, seed: index }, device);
          peerSeconds.push(peer);
          console.log(`  ${size}px peer (train-gan defaults): ${peer.toFixed(2)} s`);
        }
      }
      const member = median(memberSeconds);
      const peer = median(peerSeconds);
      rows.push(
        `| ${size} | ${member.toFixed(2)} | ${Math.min(...memberSeconds).toFixed(2)} - ${Math.max(...memberSeconds).toFixed(2)} | ${peer.toFixed(2)} | ${(member / peer).toFixed(2)} | ${((96 * member) / 60).toFixed(1)} |`,
      );
    }
    console.log('\n| size (px) | s per member (median) | range | s per default train-gan (peer) | member / peer | 96 members, 1 worker (min) |');
    console.log('|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
