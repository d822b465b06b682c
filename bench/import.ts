/**
 * Import benchmark: N synthetic 1024x1024 8-bit JPEG phantoms imported through the job system (queue,
 * workers, blob store, PostgreSQL), beside the floor it can approach: the same files read, hashed (SHA-256)
 * and decoded by a bare sharp loop, in the same run. Each phase runs in a child process of its own so that
 * its peak memory (max RSS) is its own.
 *
 *   npm run bench:import                 # 1,000 images
 *   npm run bench:import -- --count 200  # quicker
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { MODULES } from '../src/modules';
import { startApp } from '../src/platform/app';
import { loadConfig } from '../src/platform/config';
import { startFolderImport } from '../src/datasets/service';
import { sha256 } from '../src/platform/blobs';
import { SYNTHETIC_MARKER_FILE, synthesizeDataset } from '../src/synth/dataset';

interface PhaseResult {
  phase: string;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  maxRssMiB: number;
  /** CPU of this process (user + system) per image; PostgreSQL's own CPU is not included. */
  cpuMsPerImage: number;
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

async function listFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fs.readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.jpeg')) files.push(path.join(entry.parentPath, entry.name));
  }
  return files.sort();
}

function result(phase: string, images: number, startedAt: bigint, cpuAtStart: NodeJS.CpuUsage): PhaseResult {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    phase,
    images,
    seconds: Number(seconds.toFixed(2)),
    imagesPerSecond: Number((images / seconds).toFixed(1)),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuMsPerImage: Number(((cpu.user + cpu.system) / 1000 / images).toFixed(1)),
  };
}

/** The floor: read, hash and decode every file, `inFlight` files at a time. */
async function bareLoop(folder: string, inFlight: number): Promise<PhaseResult> {
  const files = await listFiles(folder);
  const queue = [...files];
  const startedAt = process.hrtime.bigint();
  const cpuAtStart = process.cpuUsage();
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const bytes = await fs.readFile(file);
      sha256(bytes);
      await sharp(bytes).raw().toBuffer();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return result(`bare sharp loop (${inFlight} in flight)`, files.length, startedAt, cpuAtStart);
}

async function importThroughJobs(folder: string): Promise<PhaseResult> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'medpsim-bench-data-'));
  chmodSync(dataDir, 0o711); // the embedded server may run as another user (src/platform/embedded-postgres.ts)
  // The phantoms' folder is the one import root (a server reads only inside its roots).
  const config = loadConfig({ ...process.env, MEDPSIM_DATA_DIR: dataDir, PORT: '0', MEDPSIM_IMPORT_ROOTS: folder });
  const app = await startApp(config, MODULES, { work: true });
  try {
    const startedAt = process.hrtime.bigint();
    const cpuAtStart = process.cpuUsage();
    const jobId = await startFolderImport(app, { path: folder, datasetName: `bench-${Date.now()}` });
    for (;;) {
      const { rows } = await app.pool.query(`SELECT state, done, failed FROM jobs WHERE id = $1`, [jobId]);
      if (rows[0].state === 'COMPLETED' || rows[0].state === 'FAILED') {
        if (rows[0].failed > 0 || rows[0].state === 'FAILED') throw new Error(`import job ended ${JSON.stringify(rows[0])}`);
        return result(`import job (${config.workerConcurrency} chunk workers)`, rows[0].done, startedAt, cpuAtStart);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Reuses phantoms from an earlier run only if that generation finished with the same count. */
function generatedCompletely(folder: string, count: number): boolean {
  const marker = path.join(folder, SYNTHETIC_MARKER_FILE);
  if (!existsSync(marker)) return false;
  const summary = JSON.parse(readFileSync(marker, 'utf8')) as { complete?: boolean; files?: number };
  return summary.complete === true && summary.files === count;
}

function runPhase(phase: string, folder: string): PhaseResult {
  const output = execFileSync(process.execPath, [__filename, '--phase', phase, '--folder', folder], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(output.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const phase = argument('phase', '');
  if (phase) {
    const folder = argument('folder', '');
    const outcome = phase === 'import' ? await importThroughJobs(folder) : await bareLoop(folder, Number(phase.split(':')[1]));
    console.log(JSON.stringify(outcome));
    return;
  }

  const count = Number(argument('count', '1000'));
  const folder = path.resolve(argument('folder', path.join(tmpdir(), `medpsim-bench-phantoms-${count}`)));
  if (!generatedCompletely(folder, count)) {
    console.error(`generating ${count} 1024x1024 8-bit JPEG phantoms in ${folder} ...`);
    await synthesizeDataset({ outDir: folder, count, width: 1024, height: 1024, bitDepth: 8, seed: 2026 });
  }
  const results = [runPhase('bare:1', folder), runPhase('bare:4', folder), runPhase('import', folder)];
  const floor = Math.max(results[0].imagesPerSecond, results[1].imagesPerSecond);
  console.log(`\n| phase | images | seconds | images/s | ratio to faster bare loop | CPU ms/image | peak RSS (MiB) |`);
  console.log(`|---|---|---|---|---|---|---|`);
  for (const row of results) {
    const ratio = (row.imagesPerSecond / floor).toFixed(2);
    console.log(`| ${row.phase} | ${row.images} | ${row.seconds} | ${row.imagesPerSecond} | ${ratio} | ${row.cpuMsPerImage} | ${row.maxRssMiB} |`);
  }
  const cpu = execFileSync('sh', ['-c', "nproc; grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' });
  console.log(`\nmachine: ${cpu.trim().replace(/\n/g, ' cores,')}; node ${process.version}; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
