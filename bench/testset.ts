/**
 * Building a test set: a TWO_AFC set of N triplets of 256x256 patches cut from 1024x1024 phantoms, through
 * the job system as the server runs it (startApp with workers, createTestSet, the BUILD_TEST_SET item job),
 * timed from the call that queues it to READY (content hash included), in items/s. Beside it, in the same
 * run: the engine's own rate on the same work, the very kinds, severities and seeds the build drew (each
 * item's p0 and p1 choices), applied with applyDistortion (src/distortions/apply.ts) to 256x256 float
 * patches in memory: no job system, database, PNG encoding or blobs. Each item is two distortions, so the
 * engine-bound item rate is distortions/s / 2; the ratio is the build's items/s against that. Also, to show
 * where the rest goes: the PNG encoding of an item's three images alone, and the CPU of this process
 * (server and workers) and of PostgreSQL during the build.
 *
 * A definition takes at most 64 patches per image (LIMITS.patchesPerImage), so 10,000 items come from 200
 * source images at 50 patches each. The engine runs on CUDA where the build would (chooseBackend('AUTO')).
 *
 *   npm run bench:testset                      # 10,000 items (200 phantoms of 1024x1024, 50 patches each)
 *   npm run bench:testset -- --items 2000
 *   npm run bench:testset -- --quick           # 500 items
 *   options: --items N, --quick, --bit-depth 16 (16-bit PNG phantoms; default 8-bit JPEG, as chest X-ray sets come);
 *            DATABASE_URL=... runs on a new database of that server (dropped at the end)
 */
import '../src/platform/threadpool';
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { CLOCK_TICK_MS, machineCpuMs, option, ownDatabase, postgresCpuMs, processCpuMs, waitForJob } from './support';
import { startFolderImport } from '../src/datasets/service';
import { applyDistortion, chooseBackend } from '../src/distortions/apply';
import { floatToPng, pngToFloat } from '../src/imaging/float';
import { MODULES } from '../src/modules';
import { startApp } from '../src/platform/app';
import { loadConfig } from '../src/platform/config';
import type { FloatImage } from '../src/platform/native';
import { synthesizeDataset } from '../src/synth/dataset';
import { LIMITS } from '../src/testsets/definition';
import type { DistortionChoice } from '../src/testsets/sampling';
import { bodyMap, cropPatch, placePatch } from '../src/testsets/patches';
import { createTestSet, getTestSet } from '../src/testsets/service';

/** The pool: kinds a chest X-ray study would draw from, at the default severities (0.1 to 1). */
const POOL = ['gaussian_blur', 'gaussian_noise', 'jpeg', 'contrast', 'affine', 'resolution_loss', 'quantum_noise', 'exposure'].map((kind) => ({ kinds: [kind] }));
const PATCH = 256;
const SOURCE = 1024;
/** Reference patches the engine peer cycles through (decoded before it is timed). */
const PEER_SOURCES = 100;

/** Every statement any pg client of this process sends (app pool, TypeORM, pg-boss), by its first words. */
const statements = new Map<string, number>();

function countStatements(): void {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = (typeof first === 'string' ? first : (first?.text ?? '')).replace(/\s+/g, ' ').trim();
    if (text.startsWith('/* bench */')) return original.apply(this, args); // the bench's own polling
    const bucket = text.includes('pgboss') ? `pg-boss: ${text.slice(0, 40)}` : text.slice(0, 60);
    statements.set(bucket, (statements.get(bucket) ?? 0) + 1);
    return original.apply(this, args);
  };
}

/** CPU ms of this process's main thread (the event loop: JS, pg's protocol, sharp's and zlib's calls queued). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** Runs `work(i)` for i in [0, count) with `inFlight` at a time; returns the seconds taken. */
async function timed(count: number, inFlight: number, work: (index: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await work(next++);
    }),
  );
  return seconds(started);
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const items = Math.round(option('items', quick ? 500 : 10_000));
  const bitDepth = option('bit-depth', 8) === 16 ? 16 : 8;
  const perImage = Math.min(LIMITS.patchesPerImage.max, 50);
  const imageCount = Math.ceil(items / perImage);
  const patchesPerImage = Math.ceil(items / imageCount);
  const peerItems = Math.min(items, quick ? 500 : 2000);

  countStatements();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'medpsim-bench-testset-'));
  execFileSync('chmod', ['711', dataDir]); // the embedded server may run as another user
  const database = await ownDatabase();
  const config = loadConfig({ ...process.env, MEDPSIM_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url ?? '' });
  const app = await startApp(config, MODULES, { work: true }); // the job workers, as `npm start` runs them
  try {
    const setupStarted = process.hrtime.bigint();
    const folder = path.join(dataDir, 'incoming', 'phantoms'); // inside an import root by default
    mkdirSync(folder, { recursive: true });
    await synthesizeDataset({ outDir: folder, count: imageCount, width: SOURCE, height: SOURCE, seed: 5, bitDepth });
    const synthSeconds = seconds(setupStarted);
    await waitForJob(app, await startFolderImport(app, { path: folder, datasetName: 'bench phantoms' }), 600_000, 100);
    const { rows: datasets } = await app.pool.query(`SELECT id FROM datasets WHERE name = 'bench phantoms'`);
    const { backend, note } = chooseBackend('AUTO');
    console.log(
      `setup: ${imageCount} phantoms of ${SOURCE}x${SOURCE} (${bitDepth}-bit), synthesised in ${synthSeconds.toFixed(1)} s and imported in ` +
        `${(seconds(setupStarted) - synthSeconds).toFixed(1)} s; database: ${app.db.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL (a new database)'}; ` +
        `engine backend ${backend}${note ? ` (${note})` : ''}; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE}, ` +
        `MEDPSIM_WORKER_CONCURRENCY ${config.workerConcurrency}, chunk ${config.jobChunkSize} items`,
    );

    // 1. The build, through the job system: from the call that queues it to READY.
    const statements0 = new Map(statements);
    const cpu0 = { server: processCpuMs(), main: mainThreadCpuMs(), pg: postgresCpuMs(), machine: machineCpuMs().busy };
    const started = process.hrtime.bigint();
    const set = await createTestSet(app, {
      name: 'bench build',
      kind: 'TWO_AFC',
      datasetId: datasets[0].id,
      references: items,
      size: PATCH,
      patchesPerImage,
      pool: POOL,
      seed: 11,
    });
    await waitForJob(app, set.jobId!, 3_600_000, 20);
    const ready = await getTestSet(app, set.id); // READY once its content hash is written
    const buildSeconds = seconds(started);
    const cpu1 = { server: processCpuMs(), main: mainThreadCpuMs(), pg: postgresCpuMs(), machine: machineCpuMs().busy };
    const buildStatements = [...statements]
      .map(([key, n]) => [key, n - (statements0.get(key) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    if (ready.state !== 'READY') throw new Error(`the set is ${ready.state}`);
    const { rows: phases } = await app.pool.query(
      `SELECT extract(epoch FROM started_at - created_at)::float8 AS queued, extract(epoch FROM finished_at - started_at)::float8 AS running
       FROM jobs WHERE id = $1`,
      [set.jobId],
    );
    const { rows: stored } = await app.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT ref_hash)::int AS refs, count(*) FILTER (WHERE built_at IS NOT NULL)::int AS built FROM test_set_items WHERE test_set_id = $1`,
      [set.id],
    );
    const buildRate = items / buildSeconds;

    // 2. The engine alone: the build's own choices (kinds, severities, seeds), on decoded reference patches.
    const { rows } = await app.pool.query<{ position: number; ref_hash: string; p0: DistortionChoice; p1: DistortionChoice }>(
      `SELECT position, ref_hash, p0_spec AS p0, p1_spec AS p1 FROM test_set_items WHERE test_set_id = $1 AND role = 'ITEM' ORDER BY position LIMIT $2`,
      [set.id, peerItems],
    );
    const patches: FloatImage[] = [];
    for (const row of rows.slice(0, PEER_SOURCES)) {
      const { data, width, height, channels } = await pngToFloat(await app.blobs.read(row.ref_hash));
      patches.push({ data, width, height, channels });
    }
    const distortions = rows.flatMap((row, index) => [
      { source: patches[index % patches.length], choice: row.p0 },
      { source: patches[index % patches.length], choice: row.p1 },
    ]);
    const kindsUsed = new Map<string, number>();
    for (const { choice } of distortions) for (const step of choice.steps) kindsUsed.set(step.kind, (kindsUsed.get(step.kind) ?? 0) + 1);
    const engine: Array<{ inFlight: number; rate: number; cpuMs: number }> = [];
    const run = (index: number) => applyDistortion(distortions[index].source, distortions[index].choice.steps, distortions[index].choice.seed, backend);
    await timed(Math.min(200, distortions.length), 2, run); // warm-up
    for (const inFlight of [1, 2, 4]) {
      const cpuBefore = processCpuMs();
      const took = await timed(distortions.length, inFlight, run);
      engine.push({ inFlight, rate: distortions.length / took, cpuMs: (processCpuMs() - cpuBefore) / distortions.length });
    }
    const best = engine.reduce((a, b) => (b.rate > a.rate ? b : a));

    // 3. What else an item costs: its source decoded (once per image), the body map (once per image), the
    // patch placed and cut; then its three PNGs (reference, p0, p1) encoded, on the same patches.
    const { rows: sources } = await app.pool.query<{ image_id: string; content_hash: string; positions: number[] }>(
      `SELECT i.image_id, im.content_hash, array_agg(i.position ORDER BY i.position) AS positions
       FROM test_set_items i JOIN images im ON im.id = i.image_id WHERE i.test_set_id = $1 AND i.role = 'ITEM'
       GROUP BY i.image_id, im.content_hash ORDER BY min(i.position) LIMIT 4`,
      [set.id],
    );
    let decodeMs = 0;
    let mapMs = 0;
    let placeMs = 0;
    let placed = 0;
    const cpuSteps = processCpuMs();
    for (const source of sources) {
      let at = process.hrtime.bigint();
      const image = await pngToFloat(await app.blobs.read(source.content_hash));
      decodeMs += seconds(at) * 1000;
      at = process.hrtime.bigint();
      const map = bodyMap(image);
      mapMs += seconds(at) * 1000;
      at = process.hrtime.bigint();
      for (const position of source.positions) cropPatch(image, placePatch(map, PATCH, ready.seed, position));
      placeMs += seconds(at) * 1000;
      placed += source.positions.length;
    }
    const stepsCpuMs = (processCpuMs() - cpuSteps) / placed;
    const encodes = Math.min(600, patches.length * 6);
    const cpuPng = processCpuMs();
    const pngSeconds = await timed(encodes, 4, (index) => floatToPng(patches[index % patches.length], bitDepth));
    const pngCpuMs = ((processCpuMs() - cpuPng) / encodes) * 3;
    const pngPerItemMs = ((pngSeconds * 1000) / encodes) * 3;

    const cores = os.cpus().length;
    const buildCpu = { server: cpu1.server - cpu0.server, main: cpu1.main - cpu0.main, pg: cpu1.pg - cpu0.pg, machine: cpu1.machine - cpu0.machine };
    console.log(
      `\nTWO_AFC set of ${items} items of ${PATCH}x${PATCH} (${imageCount} source images of ${SOURCE}x${SOURCE}, ${patchesPerImage} patches each), ` +
        `pool ${POOL.map((entry) => entry.kinds[0]).join(', ')} at severities 0.1-1, ${cores} cores, ${os.cpus()[0].model}`,
    );
    console.log(`| what | rate | wall ms per item | CPU ms per item | note |`);
    console.log(`|---|---|---|---|---|`);
    console.log(
      `| build, queue to READY (createTestSet, job, content hash) | **${buildRate.toFixed(1)} items/s** | ${((buildSeconds * 1000) / items).toFixed(2)} | ` +
        `${((buildCpu.server + buildCpu.pg) / items).toFixed(2)} (this process ${(buildCpu.server / items).toFixed(2)}, PostgreSQL ${(buildCpu.pg / items).toFixed(2)}) | ` +
        `${buildSeconds.toFixed(1)} s in all: queued ${Number(phases[0].queued).toFixed(2)} s, job running ${Number(phases[0].running).toFixed(1)} s; ` +
        `${stored[0].built} of ${stored[0].n} items built, ${stored[0].refs} distinct references |`,
    );
    for (const { inFlight, rate, cpuMs } of engine) {
      console.log(
        `| engine alone, ${inFlight} in flight (applyDistortion on float patches) | ${rate.toFixed(0)} distortions/s | ${((2 * 1000) / rate).toFixed(2)} | ` +
          `${(2 * cpuMs).toFixed(2)} | 2 distortions per item; ${distortions.length} distortions: p0 and p1 of the first ${rows.length} items |`,
      );
    }
    console.log(`| engine-bound item rate (best engine rate / 2) | ${(best.rate / 2).toFixed(1)} items/s | | | ${best.inFlight} in flight |`);
    console.log(`| **build / engine-bound** | **${(buildRate / (best.rate / 2)).toFixed(2)}** | | | |`);
    console.log(`| PNG encoding alone, ${bitDepth}-bit, 4 in flight | ${(encodes / pngSeconds).toFixed(0)} PNGs/s | ${pngPerItemMs.toFixed(2)} | ${pngCpuMs.toFixed(2)} | 3 PNGs per item |`);
    console.log(
      `| source decoded, body map, patch placed and cut, one at a time | | ${((decodeMs + mapMs + placeMs) / placed).toFixed(2)} | ${stepsCpuMs.toFixed(2)} | ` +
        `per image: decode ${(decodeMs / sources.length).toFixed(1)} ms, body map ${(mapMs / sources.length).toFixed(1)} ms (${patchesPerImage} items per image); ` +
        `per patch: placed and cut ${(placeMs / placed).toFixed(2)} ms |`,
    );
    console.log(`  SQL statements per item during the build (every pg client of this process; ${items} items):`);
    for (const [key, n] of buildStatements.slice(0, 12)) console.log(`    ${(n / items).toFixed(3)}  ${key}`);
    console.log(
      `  CPU during the build: this process (server and workers) ${(buildCpu.server / 1000).toFixed(1)} s (${(buildCpu.server / items).toFixed(2)} ms per item, of which the main thread ${(buildCpu.main / items).toFixed(2)} ms: ` +
        `${((buildCpu.main / (buildSeconds * 1000)) * 100).toFixed(0)}% of the build's wall time), ` +
        `PostgreSQL ${(buildCpu.pg / 1000).toFixed(1)} s (${(buildCpu.pg / items).toFixed(2)} ms per item); machine busy ` +
        `${((buildCpu.machine / (buildSeconds * 1000 * cores)) * 100).toFixed(0)}% of ${cores} cores`,
    );
    console.log(`  kinds in the peer's distortions: ${[...kindsUsed].map(([kind, n]) => `${kind} ${n}`).join(', ')}`);
  } finally {
    await app.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
