/**
 * `medpsim simulate-panel` against a real server, as a pipeline runs it (the built CLI as a child process):
 * simulated raters answer every presentation through the rater API, a noiseless L2 observer's answers are
 * what the item images say, sentinels pass, aggregates leave simulated raters out unless asked, a rerun
 * stores nothing twice, and --raters adds raters that carry the observer's description.
 */
import sharp from 'sharp';
import { acceptInvitation, createRater } from '../../src/access/raters';
import { startTestApp, type TestApp } from '../helpers/app';
import { runCli, stopProcesses } from '../helpers/processes';
import { buildSet, importPhantoms } from '../helpers/testsets';

let t: TestApp;
let setId: string;
let studyId: string;
/** Items whose p0 and p1 are equally far from the reference in 8 bits (the answer then follows the placement). */
const ties = new Set<string>();

const CREATE = `mutation ($input: CreateStudyInput!) { createStudy(input: $input) { id } }`;

beforeAll(async () => {
  t = await startTestApp({ http: true });
  const datasetId = await importPhantoms(t, 8, 256);
  setId = (
    await buildSet(t, {
      datasetId,
      name: 'afc',
      kind: 'TWO_AFC',
      references: 8,
      size: 64,
      patchesPerImage: 2,
      pool: [{ kinds: ['gaussian_blur'], severityMin: 0.05, severityMax: 1 }],
      sentinels: 2,
      seed: 1,
    })
  ).id;
  const { data, errors } = await t.gql(CREATE, {
    input: { name: 'simulated', testSetIds: [setId], simulatedRaters: 3, seed: 5, protocol: { judgmentsPerItem: 3, retestShare: 0, practice: false } },
  });
  expect(errors).toBeUndefined();
  studyId = data!.createStudy.id;
}, 180_000);

afterAll(async () => {
  await stopProcesses();
  await t?.close();
});

const cli = (args: string[], env: Record<string, string> = {}) => runCli({ url: t.server!.url, token: t.token }, args, env);

/** The JSON summary: the last line of the output (progress goes to stderr before it). */
const summaryOf = (output: string) => JSON.parse(output.trim().split('\n').at(-1)!);

async function pixels(url: string): Promise<{ data: Buffer; channels: number; width: number; height: number }> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const { data, info } = await sharp(Buffer.from(await response.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels, width: info.width, height: info.height };
}

/** Sum of squared 8-bit differences: an L2 observer's distance, up to a monotone scaling (exact in integers). */
function squaredDifference(a: { data: Buffer; channels: number }, b: { data: Buffer; channels: number }): number {
  expect(a.data.length).toBe(b.data.length);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i] - b.data[i]) ** 2;
  return sum;
}

it('answers every presentation as the simulated raters, as a noiseless L2 observer would', async () => {
  const run = await cli(['simulate-panel', studyId, '--noise', '0', '--lapse', '0', '--concurrency', '2']);
  expect(run.code).toBe(0);
  expect(run.output).toContain('SIMULATED raters (not people), observer model: l2 noise=0 lapse=0 jnd=0.02 rt=2500ms/0.35 seed=1');
  expect(run.output).toMatch(/3 raters, 30 judgments submitted, 0 repeated/); // (8 items + 2 sentinels) x 3 raters
  expect(run.output).toMatch(/S-[0-9a-f]{6} {2}answered 10 {2}mean responseMs \d+ ms/);

  const open = await t.app.pool.query(`SELECT count(*)::int AS n FROM presentations WHERE study_id = $1 AND state <> 'ANSWERED'`, [studyId]);
  expect(open.rows[0].n).toBe(0);
  const { rows } = await t.app.pool.query(
    `SELECT j.item_id, j.answer, j.chose_p1, j.response_ms, j.display, j.client_key, p.swapped, p.purpose, r.simulated, r.pseudonym
     FROM judgments j JOIN presentations p ON p.id = j.presentation_id JOIN raters r ON r.id = j.rater_id WHERE j.study_id = $1`,
    [studyId],
  );
  expect(rows).toHaveLength(30);
  expect(rows.filter((row) => row.purpose === 'SENTINEL')).toHaveLength(6);
  expect(new Set(rows.map((row) => row.pseudonym)).size).toBe(3);
  for (const row of rows) {
    expect(row).toMatchObject({ simulated: true, display: { imageWidth: 64, imageHeight: 64, devicePixelRatio: 1 } });
    expect(row.pseudonym).toMatch(/^S-[0-9a-f]{6}$/);
    expect(row.response_ms).toBeGreaterThanOrEqual(150);
  }
  expect(new Set(rows.map((row) => row.client_key)).size).toBe(30);

  // The item's 8-bit renditions, fetched as any analysis client does, say which side a noiseless L2 observer picks.
  const items = await t.gql(`query ($id: ID!) { testSet(id: $id) { items(first: 100) { id role images { ref p0 p1 } } } }`, { id: setId });
  expect(items.errors).toBeUndefined();
  const distances = new Map<string, { d0: number; d1: number }>();
  for (const item of items.data!.testSet.items) {
    const [ref, p0, p1] = await Promise.all([pixels(item.images.ref), pixels(item.images.p0), pixels(item.images.p1)]);
    expect([ref.width, ref.height]).toEqual([64, 64]);
    distances.set(item.id, { d0: squaredDifference(ref, p0), d1: squaredDifference(ref, p1) });
  }
  let decided = 0;
  for (const row of rows) {
    const { d0, d1 } = distances.get(row.item_id)!;
    // A tie goes RIGHT (d_left - d_right < 0 is false): p1 when it is on the right, i.e. not swapped.
    const expected = d0 === d1 ? !row.swapped : d1 < d0;
    expect({ item: row.item_id, chose_p1: row.chose_p1 }).toEqual({ item: row.item_id, chose_p1: expected });
    if (d0 !== d1) decided++;
    else ties.add(row.item_id);
  }
  expect(decided).toBeGreaterThan(rows.length / 2);
});

it('passes every sentinel, and aggregates leave simulated raters out unless asked', async () => {
  const { data, errors } = await t.gql(
    `query ($id: ID!) { study(id: $id) {
       raterQuality(includeSimulated: true) { pseudonym simulated judgments sentinels sentinelPassRate excluded }
       excludedByDefault: itemJudgments { items { judgments } inclusion { includedRaterIds includeSimulated excluded { pseudonym reasons } } }
       withSimulated: itemJudgments(includeSimulated: true) { items { itemId judgments fraction } inclusion { includedRaterIds } } } }`,
    { id: studyId },
  );
  expect(errors).toBeUndefined();
  const study = data!.study;
  expect(study.raterQuality).toHaveLength(3);
  for (const rater of study.raterQuality) {
    expect(rater).toMatchObject({ simulated: true, judgments: 10, sentinels: 2, sentinelPassRate: 1, excluded: false });
  }

  const byDefault = study.excludedByDefault;
  expect(byDefault.inclusion).toMatchObject({ includedRaterIds: [], includeSimulated: false });
  expect(byDefault.inclusion.excluded).toHaveLength(3);
  for (const excluded of byDefault.inclusion.excluded) {
    expect(excluded.pseudonym).toMatch(/^S-/);
    expect(excluded.reasons).toEqual(expect.arrayContaining([expect.stringContaining('simulated')]));
  }
  for (const item of byDefault.items) expect(item.judgments).toBe(0);

  expect(study.withSimulated.inclusion.includedRaterIds).toHaveLength(3);
  expect(study.withSimulated.items.length).toBeGreaterThan(0);
  for (const item of study.withSimulated.items) {
    expect(item.judgments).toBe(3);
    // A deterministic observer: the three raters agree, unless p0 and p1 tie and the side decides.
    if (!ties.has(item.itemId)) expect({ item: item.itemId, agree: item.fraction === 0 || item.fraction === 1 }).toEqual({ item: item.itemId, agree: true });
  }
});

it('submits nothing on a second run: every rater is done', async () => {
  const before = await t.app.pool.query(`SELECT count(*)::int AS n FROM judgments WHERE study_id = $1`, [studyId]);
  const again = await cli(['simulate-panel', studyId, '--noise', '0', '--lapse', '0', '--json']);
  expect(again.code).toBe(0);
  const summary = summaryOf(again.output);
  expect(summary).toMatchObject({ studyId, simulated: true, raters: 3, submitted: 0, repeated: 0, observer: 'l2 noise=0 lapse=0 jnd=0.02 rt=2500ms/0.35 seed=1' });
  for (const rater of summary.perRater) expect(rater).toMatchObject({ answered: 0, meanResponseMs: null });
  const after = await t.app.pool.query(`SELECT count(*)::int AS n FROM judgments WHERE study_id = $1`, [studyId]);
  expect(after.rows[0].n).toBe(before.rows[0].n);
});

it('adds raters with --raters, who carry the observer model; refuses a study without simulated raters, and reports server errors', async () => {
  const invitation = await createRater(t.app, { displayName: 'Dr Real' });
  const real = await acceptInvitation(t.app, invitation.code);
  const created = await t.gql(CREATE, { input: { name: 'mixed', testSetIds: [setId], raterIds: [invitation.rater.id], seed: 2, protocol: { judgmentsPerItem: 1, retestShare: 0, practice: false } } });
  expect(created.errors).toBeUndefined();
  const mixed = created.data!.createStudy.id;

  const none = await cli(['simulate-panel', mixed]);
  expect(none.code).toBe(1);
  expect(none.output).toContain('has no active simulated raters: pass --raters N to add some');

  const added = await cli(['simulate-panel', mixed, '--raters', '2', '--metric', 'mae', '--seed', '7', '--json']);
  expect(added.code).toBe(0);
  const summary = summaryOf(added.output);
  expect(summary).toMatchObject({ raters: 2, repeated: 0, observer: 'mae noise=0.02 lapse=0.05 jnd=0.02 rt=2500ms/0.35 seed=7' });
  expect(summary.submitted).toBeGreaterThan(0);
  const { rows } = await t.app.pool.query(
    `SELECT r.pseudonym, r.display_name, r.simulated, count(j.id)::int AS judged FROM study_raters sr JOIN raters r ON r.id = sr.rater_id
     LEFT JOIN judgments j ON j.rater_id = r.id AND j.study_id = sr.study_id WHERE sr.study_id = $1 AND r.simulated GROUP BY r.id`,
    [mixed],
  );
  expect(rows).toHaveLength(2);
  for (const row of rows) expect(row.display_name).toBe('simulated: mae noise=0.02 lapse=0.05 jnd=0.02 rt=2500ms/0.35 seed=7');
  expect(rows.reduce((sum, row) => sum + row.judged, 0)).toBe(summary.submitted);
  // The real rater's presentations are theirs to answer: the simulated raters left them open.
  const open = await t.app.pool.query(`SELECT count(*)::int AS n FROM presentations WHERE study_id = $1 AND rater_id = $2 AND state = 'OPEN'`, [mixed, invitation.rater.id]);
  expect(open.rows[0].n).toBeGreaterThan(0);
  expect(real.secret).toBeTruthy();

  const unknown = await cli(['simulate-panel', '00000000-0000-0000-0000-000000000000']);
  expect(unknown.code).toBe(1);
  expect(unknown.output).toMatch(/^medpsim: .*not found/im);
  const badToken = await cli(['simulate-panel', studyId], { MEDPSIM_TOKEN: 'not-a-token' });
  expect(badToken.code).toBe(1);
  expect(badToken.output).toContain('medpsim: ');
  const badOption = await cli(['simulate-panel', studyId, '--lapse', '2']);
  expect(badOption.code).toBe(1);
  expect(badOption.output).toContain('--lapse must be a number in [0, 1]');
});
