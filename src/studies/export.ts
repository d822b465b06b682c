/**
 * Exporting a study (an EXPORT_STUDY job): a folder under the data dir, downloaded as a zip the server
 * streams. Inside:
 * - the BAPPS layout LPIPS's loaders read: 2afc/<split>/<category>/{ref,p0,p1}/NNNNNN.png with
 *   judge/NNNNNN.npy (the fraction of included raters who chose p1), and jnd/<split>/<category>/{p0,p1} with
 *   same/NNNNNN.npy (the fraction who said same); 8-bit PNGs windowed as the study shows them; items
 *   without judgments are left out (listed in the manifest);
 * - originals/: the stored 16-bit (or 8-bit) PNGs at the same relative paths;
 * - judgments.csv: one row per judgment of every rater, with the flags analyses filter on;
 * - manifest.json: the study, each set's definition, seed and content hash, the raters included and
 *   excluded and why, and which item each exported file is.
 * A run after a crash starts the folder again from nothing.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { renderPng } from '../imaging/render';
import type { App } from '../platform/app';
import { assertUuid, notFound } from '../platform/errors';
import { defineSingleJob } from '../platform/jobs/single';
import * as jobs from '../platform/jobs/store';
import { bappsPaths, safeFolderName, type BappsPaths } from '../testsets/bapps-folder';
import { encodeNpy } from '../testsets/npy';
import { getStudy } from './service';
import { inclusion, itemAggregates, type ItemAggregate } from './quality';

const AGGREGATE_PAGE = 10_000;
import type { Protocol } from './protocol';

export const EXPORT_STUDY = 'EXPORT_STUDY';

export interface ExportParams {
  studyId: string;
  includeSimulated: boolean;
}

export function exportFolder(app: App, jobId: string): string {
  return path.join(app.config.dataDir, 'exports', jobId);
}

export async function startExport(app: App, studyId: string, includeSimulated: boolean): Promise<string> {
  const study = await getStudy(app, studyId, 'studyId');
  return app.jobs.queue(EXPORT_STUDY, { studyId: study.id, includeSimulated } satisfies ExportParams);
}

interface ExportItem {
  id: string;
  testSetId: string;
  position: number;
  kind: 'TWO_AFC' | 'JND';
  split: string | null;
  category: string;
  ref_hash: string | null;
  p0_hash: string;
  p1_hash: string;
  window_center: number | null;
  window_width: number | null;
}

const CSV_COLUMNS = [
  'rater', 'simulated', 'rater_excluded', 'test_set_id', 'item_id', 'item_position', 'exported_as', 'presentation_sequence',
  'practice', 'sentinel', 'retest', 'p1_shown_left', 'answer', 'answer_mapped', 'response_ms', 'received_at', 'superseded_at', 'display',
];

function csvValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function writeFile(root: string, relative: string, bytes: Buffer): Promise<void> {
  const file = path.join(root, relative);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, bytes);
}

async function runExport(app: App, jobId: string, params: ExportParams, signal: AbortSignal): Promise<void> {
  const study = await getStudy(app, params.studyId);
  const protocol = study.protocol as Protocol;
  const included = await inclusion(app, study.id, { includeSimulated: params.includeSimulated });
  const fractionOf = new Map<string, ItemAggregate>();
  for (let offset = 0; ; offset += AGGREGATE_PAGE) {
    const { items: page } = await itemAggregates(app, study.id, { includeSimulated: params.includeSimulated, first: AGGREGATE_PAGE, offset });
    for (const row of page) fractionOf.set(row.itemId, row);
    if (page.length < AGGREGATE_PAGE) break;
  }
  const { rows: items } = await app.pool.query<ExportItem>(
    `SELECT i.id, i.test_set_id AS "testSetId", i.position, s.kind, i.split, i.category, i.ref_hash, i.p0_hash, i.p1_hash, i.window_center, i.window_width
     FROM study_test_sets st JOIN test_sets s ON s.id = st.test_set_id JOIN test_set_items i ON i.test_set_id = s.id AND i.role = 'ITEM'
     WHERE st.study_id = $1 ORDER BY s.created_at, s.id, i.position`,
    [study.id],
  );
  const folder = exportFolder(app, jobId);
  await fs.rm(folder, { recursive: true, force: true });
  await fs.mkdir(folder, { recursive: true, mode: 0o700 });
  await jobs.setProgress(app.pool, jobId, 0, items.length);

  const counters = new Map<string, number>();
  const exported: Array<{ itemId: string; files: BappsPaths; judgments: number; fraction: number }> = [];
  const unjudged: string[] = [];
  for (const [done, item] of items.entries()) {
    if (signal.aborted) return;
    const aggregate = fractionOf.get(item.id);
    const fraction = aggregate?.fraction ?? null;
    if (fraction === null) {
      unjudged.push(item.id);
      continue;
    }
    const split = safeFolderName(item.split ?? 'val');
    const category = safeFolderName(item.category);
    const counter = `${item.kind}/${split}/${category}`;
    const index = counters.get(counter) ?? 0;
    counters.set(counter, index + 1);
    const files = bappsPaths(item.kind, split, category, index);
    const window = protocol.window ?? (item.window_center === null ? null : { center: item.window_center, width: item.window_width! });
    const slots: Array<[string | undefined, string | null]> = [
      [files.ref, item.ref_hash],
      [files.p0, item.p0_hash],
      [files.p1, item.p1_hash],
    ];
    for (const [relative, hash] of slots) {
      if (!relative || !hash) continue;
      const stored = await app.blobs.read(hash);
      await writeFile(folder, relative, await renderPng(stored, { depth: 8, window }));
      await writeFile(folder, path.join('originals', relative), stored);
    }
    await writeFile(folder, files.judgment, encodeNpy(new Float32Array([fraction]), [1]));
    exported.push({ itemId: item.id, files, judgments: aggregate!.judgments, fraction });
    if (done % 50 === 0) await jobs.setProgress(app.pool, jobId, done, null);
  }

  await writeJudgmentsCsv(app, study.id, path.join(folder, 'judgments.csv'), new Set(included.includedRaterIds), new Map(exported.map((e) => [e.itemId, e.files.p0])));
  const { rows: sets } = await app.pool.query(
    `SELECT s.id, s.name, s.kind, s.origin, s.version, s.definition, s.seed::float8 AS seed, s.content_hash AS "contentHash"
     FROM study_test_sets st JOIN test_sets s ON s.id = st.test_set_id WHERE st.study_id = $1 ORDER BY s.created_at, s.id`,
    [study.id],
  );
  const manifest = {
    format: 'medpsim study export 1',
    exportedAt: new Date().toISOString(),
    study: { id: study.id, name: study.name, protocol: study.protocol, seed: study.seed, exclusionRules: study.exclusionRules },
    testSets: sets,
    raters: { includeSimulated: params.includeSimulated, included: included.includedRaterIds, excluded: included.excluded },
    judge: 'judge/*.npy: fraction of included raters who chose p1 (first showings only); same/*.npy: fraction who said same',
    images: '8-bit PNG in the display window the study used (protocol window, else the item\'s); originals/ holds the stored PNGs',
    items: exported,
    unjudged,
  };
  await fs.writeFile(path.join(folder, 'manifest.json'), JSON.stringify(manifest, null, 2));
  if (!signal.aborted) await jobs.completeRunning(app.pool, jobId);
}

/** Streams every judgment of the study (superseded ones too, marked) into a CSV file. */
async function writeJudgmentsCsv(app: App, studyId: string, file: string, included: Set<string>, exportedAs: Map<string, string>): Promise<void> {
  const { rows } = await app.pool.query(
    `SELECT r.pseudonym, r.simulated, r.id AS rater_id, i.test_set_id, i.id AS item_id, i.position, p.sequence, p.purpose, p.swapped, s.kind,
            j.answer, j.chose_p1, j.said_same, j.response_ms, j.received_at, j.superseded_at, j.display
     FROM judgments j JOIN presentations p ON p.id = j.presentation_id JOIN raters r ON r.id = j.rater_id
     JOIN test_set_items i ON i.id = j.item_id JOIN test_sets s ON s.id = i.test_set_id
     WHERE j.study_id = $1 ORDER BY r.pseudonym, p.sequence, j.received_at`,
    [studyId],
  );
  const out = createWriteStream(file);
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  await write(CSV_COLUMNS.join(','));
  for (const row of rows) {
    const mapped = row.kind === 'TWO_AFC' ? (row.chose_p1 ? 'p1' : 'p0') : row.said_same ? 'same' : 'different';
    const stem = exportedAs.get(row.item_id);
    await write(
      [
        row.pseudonym, row.simulated, !included.has(row.rater_id), row.test_set_id, row.item_id, row.position,
        stem ? path.basename(stem, '.png') : '', row.sequence, row.purpose === 'PRACTICE', row.purpose === 'SENTINEL', row.purpose === 'RETEST',
        row.kind === 'TWO_AFC' ? row.swapped : '', row.answer, mapped, row.response_ms, row.received_at, row.superseded_at, row.display,
      ].map(csvValue).join(','),
    );
  }
  out.end();
  await once(out, 'finish');
}

export const exportStudyJob = defineSingleJob<ExportParams>({
  kind: EXPORT_STUDY,
  description: 'Exports a study: the BAPPS layout, the originals, judgments.csv and a manifest (a zip at /exports/<job id>.zip).',
  noun: 'export',
  expireSeconds: 6 * 3600,
  run: (unit, params) => runExport(unit.app, unit.jobId, params, unit.signal),
  failLost: (app, jobId) => jobs.failRunning(app.pool, jobId, 'the worker running the export stopped; export again'),
});

/** The folder of a finished export, for the download route. */
export async function finishedExport(app: App, jobId: string): Promise<{ folder: string; studyId: string }> {
  const { rows } = await app.pool.query(`SELECT state, params FROM jobs WHERE id = $1 AND kind = $2`, [assertUuid('id', jobId), EXPORT_STUDY]);
  if (!rows[0] || rows[0].state !== 'COMPLETED') throw notFound('finished export', jobId);
  return { folder: exportFolder(app, jobId), studyId: rows[0].params.studyId };
}
