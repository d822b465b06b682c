/**
 * Studies and judgments: assignment (N distinct raters per item, balanced, seeded orders, practice first,
 * sentinels mixed in, retests), the rater API (next, submit, images), idempotent submissions, refusals,
 * per-item aggregates, rater quality and exclusions, panel changes; and what a rater can never see.
 */
import { acceptInvitation, createRater } from '../../src/access/raters';
import sharp from 'sharp';
import { readPngHeader } from '../../src/imaging/png';
import { startTestApp, type TestApp } from '../helpers/app';
import { buildSet, importPhantoms } from '../helpers/testsets';

let t: TestApp;
let twoAfcId: string;
let jndId: string;
const raters: Array<{ id: string; token: string }> = [];

async function newRater(name: string) {
  const invitation = await createRater(t.app, { displayName: name });
  const token = await acceptInvitation(t.app, invitation.code);
  return { id: invitation.rater.id, token: token.secret };
}

beforeAll(async () => {
  t = await startTestApp({ http: true });
  const datasetId = await importPhantoms(t, 8, 256);
  const common = { datasetId, size: 64, patchesPerImage: 2, pool: [{ kinds: ['gaussian_blur'] }, { kinds: ['gaussian_noise'] }], seed: 1 };
  twoAfcId = (await buildSet(t, { ...common, name: 'afc', kind: 'TWO_AFC', references: 12, sentinels: 3, practice: 2 })).id;
  jndId = (await buildSet(t, { ...common, name: 'jnd', kind: 'JND', references: 6, sentinels: 2, practice: 0 })).id;
  for (let i = 0; i < 6; i++) raters.push(await newRater(`Dr ${i}`));
}, 180_000);

afterAll(async () => {
  await t?.close();
});

const CREATE = `mutation ($input: CreateStudyInput!) { createStudy(input: $input) { id state protocol } }`;
const NEXT = `query ($study: ID!) { nextPresentation(studyId: $study) { id studyId kind practice number total breakBefore images { reference left right comparison } jnd { referenceMs blankMs distortedMs }
  upcoming { id number images { reference left right comparison } } } }`;
const SUBMIT = `mutation ($input: SubmitJudgmentInput!) { submitJudgment(input: $input) { id presentationId answer responseMs receivedAt repeated correct } }`;

let studyId: string;

it('lays out every rater’s presentations: N distinct raters per item, balanced, practice first, sentinels spread, retests', async () => {
  const { data, errors } = await t.gql(CREATE, {
    input: { name: 'pilot', testSetIds: [twoAfcId, jndId], raterIds: raters.slice(0, 5).map((r) => r.id), seed: 11, protocol: { retestShare: 0.2, retestMinGap: 2, breakEvery: 5 } },
  });
  expect(errors).toBeUndefined();
  studyId = data!.createStudy.id;
  expect(data!.createStudy.protocol).toMatchObject({ judgmentsPerItem: { TWO_AFC: 5, JND: 3 }, retestShare: 0.2, jnd: { referenceMs: 1000, blankMs: 250, distortedMs: 1000 } });

  const perItem = await t.app.pool.query(
    `SELECT s.kind, p.item_id, count(*)::int AS n, count(DISTINCT p.rater_id)::int AS raters
     FROM presentations p JOIN test_set_items i ON i.id = p.item_id JOIN test_sets s ON s.id = i.test_set_id
     WHERE p.study_id = $1 AND p.purpose = 'MAIN' GROUP BY s.kind, p.item_id`,
    [studyId],
  );
  expect(perItem.rows.filter((row) => row.kind === 'TWO_AFC')).toHaveLength(12);
  for (const row of perItem.rows) {
    expect(row.n).toBe(row.kind === 'TWO_AFC' ? 5 : 3);
    expect(row.raters).toBe(row.n);
  }
  const loads = await t.app.pool.query(`SELECT rater_id, count(*)::int AS n FROM presentations WHERE study_id = $1 AND purpose = 'MAIN' GROUP BY rater_id`, [studyId]);
  const counts = loads.rows.map((row) => row.n);
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);

  const sequence = await t.app.pool.query(`SELECT purpose, swapped FROM presentations WHERE study_id = $1 AND rater_id = $2 ORDER BY sequence`, [studyId, raters[0].id]);
  const purposes = sequence.rows.map((row) => row.purpose);
  expect(purposes.slice(0, 2)).toEqual(['PRACTICE', 'PRACTICE']);
  expect(purposes.filter((purpose) => purpose === 'SENTINEL')).toHaveLength(5); // 3 + 2: every sentinel of both sets
  expect(purposes.filter((purpose) => purpose === 'RETEST').length).toBeGreaterThan(0);
  const locked = await t.gql(`query ($id: ID!) { testSet(id: $id) { lockedAt } }`, { id: twoAfcId });
  expect(locked.data!.testSet.lockedAt).not.toBeNull();
});

it('refuses panels and protocols out of range, and changes to a set being judged', async () => {
  const refused = async (input: Record<string, unknown>) => (await t.gql(CREATE, { input: { name: 'x', testSetIds: [twoAfcId], seed: 1, ...input } })).errors![0].extensions!;
  expect(await refused({ raterIds: [] })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'raterIds' });
  expect(await refused({ raterIds: raters.slice(0, 3).map((r) => r.id) })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'protocol.judgmentsPerItem', needed: 5, raters: 3 });
  expect(await refused({ raterIds: [raters[0].id], protocol: { retestShare: 0.5 } })).toMatchObject({ field: 'protocol.retestShare' });
  expect(await refused({ raterIds: [raters[0].id], protocol: { zoom: 0.1 } })).toMatchObject({ field: 'protocol.zoom', min: 0.25, max: 8 });
  expect(await refused({ raterIds: ['00000000-0000-0000-0000-000000000000'] })).toMatchObject({ code: 'NOT_FOUND' });
  expect(await refused({ testSetIds: ['00000000-0000-0000-0000-000000000000'], raterIds: [raters[0].id] })).toMatchObject({ code: 'NOT_FOUND' });

  const deleted = await t.gql(`mutation ($id: ID!) { deleteTestSet(id: $id) { id } }`, { id: twoAfcId });
  expect(deleted.errors![0].extensions).toMatchObject({ code: 'LOCKED' });
  await expect(t.app.pool.query(`UPDATE test_set_items SET category = 'changed' WHERE test_set_id = $1`, [twoAfcId])).rejects.toThrow(/being judged/);
});

it('serves a rater their next presentation and its images, and stores an answer once per client key', async () => {
  const rater = raters[0];
  const first = await t.gql(NEXT, { study: studyId }, rater.token);
  expect(first.errors).toBeUndefined();
  const presentation = first.data!.nextPresentation;
  expect(presentation).toMatchObject({ kind: 'TWO_AFC', practice: true, number: 1, breakBefore: false, jnd: null });
  expect(presentation.images.comparison).toBeNull();
  for (const slot of ['reference', 'left', 'right']) {
    const response = await fetch(presentation.images[slot]);
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBeNull();
  }

  const input = { presentationId: presentation.id, answer: 'LEFT', responseMs: 1800, clientKey: 'k-1', display: { viewportWidth: 1280, devicePixelRatio: 2, imageWidth: 512 } };
  const stored = await t.gql(SUBMIT, { input }, rater.token);
  expect(stored.errors).toBeUndefined();
  expect(stored.data!.submitJudgment).toMatchObject({ presentationId: presentation.id, answer: 'LEFT', responseMs: 1800, repeated: false });
  expect(typeof stored.data!.submitJudgment.correct).toBe('boolean'); // practice: feedback
  const again = await t.gql(SUBMIT, { input }, rater.token);
  expect(again.data!.submitJudgment).toMatchObject({ id: stored.data!.submitJudgment.id, repeated: true });
  const changed = await t.gql(SUBMIT, { input: { ...input, answer: 'RIGHT', clientKey: 'k-2' } }, rater.token);
  expect(changed.errors![0].extensions).toMatchObject({ code: 'ALREADY_ANSWERED' });
  // The answered presentation's images are gone for the rater.
  expect((await fetch(presentation.images.left)).status).toBe(404);
  const row = await t.app.pool.query(`SELECT display, received_at, chose_p1 FROM judgments WHERE client_key = 'k-1'`);
  expect(row.rows[0].display).toEqual({ viewportWidth: 1280, devicePixelRatio: 2, imageWidth: 512 });

  // Ten identical requests at once: one judgment. (The one shown next was announced as upcoming, its images loadable ahead.)
  const next = (await t.gql(NEXT, { study: studyId }, rater.token)).data!.nextPresentation;
  expect(next.id).toBe(presentation.upcoming.id);
  expect(next.upcoming.number).toBe(next.number + 1);
  expect((await fetch(next.upcoming.images.left)).status).toBe(200);
  const race = { presentationId: next.id, answer: 'RIGHT', responseMs: 900, clientKey: 'race' };
  const answers = await Promise.all(Array.from({ length: 10 }, () => t.gql(SUBMIT, { input: race }, rater.token)));
  expect(answers.every((answer) => !answer.errors)).toBe(true);
  expect(new Set(answers.map((answer) => answer.data!.submitJudgment.id)).size).toBe(1);
  expect(answers.filter((answer) => !answer.data!.submitJudgment.repeated)).toHaveLength(1);
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM judgments WHERE presentation_id = $1`, [next.id]);
  expect(rows[0].n).toBe(1);
  // A stored judgment is its own record; refused submissions go to the audit log like any refused mutation.
  const audited = await t.app.pool.query(`SELECT outcome, count(*)::int AS n FROM audit_log WHERE operation = 'submitJudgment' GROUP BY outcome`);
  expect(audited.rows).toEqual([{ outcome: 'ALREADY_ANSWERED', n: 1 }]);
});

it('refuses what is not the rater’s to answer, with typed errors', async () => {
  const mine = (await t.gql(NEXT, { study: studyId }, raters[1].token)).data!.nextPresentation;
  const submit = (input: Record<string, unknown>, token: string | null) =>
    t.gql(SUBMIT, { input: { presentationId: mine.id, answer: 'LEFT', responseMs: 500, clientKey: `x-${Math.random()}`, ...input } }, token);
  expect((await submit({}, raters[2].token)).errors![0].extensions).toMatchObject({ code: 'FORBIDDEN' });
  expect((await submit({ presentationId: '00000000-0000-0000-0000-000000000000' }, raters[1].token)).errors![0].extensions).toMatchObject({ code: 'NOT_FOUND' });
  expect((await submit({ answer: 'SAME' }, raters[1].token)).errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'answer' });
  expect((await submit({ responseMs: -1 }, raters[1].token)).errors![0].extensions).toMatchObject({ field: 'responseMs' });
  expect((await submit({ display: { devicePixelRatio: 1e9 } }, raters[1].token)).errors![0].extensions).toMatchObject({ field: 'display.devicePixelRatio' });
  expect((await submit({}, null)).errors![0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
  expect((await submit({}, t.token)).errors![0].extensions).toMatchObject({ code: 'FORBIDDEN' }); // the rater API is for raters
  // A rater token on anything but the rater API.
  for (const query of [`{ studies { id } }`, `{ testSets { id } }`, `{ study(id: "${studyId}") { id } }`]) {
    expect((await t.gql(query, {}, raters[1].token)).errors![0].extensions).toMatchObject({ code: 'FORBIDDEN' });
  }
  // Another rater's open presentation images, with a token: not found for them.
  const path = new URL(mine.images.left).pathname;
  expect((await t.request(path, {}, raters[2].token)).status).toBe(404);
  // A study the rater is not in does not exist for them.
  const outsider = raters[5];
  expect((await t.gql(NEXT, { study: studyId }, outsider.token)).errors![0].extensions).toMatchObject({ code: 'NOT_FOUND' });
});

/** Answers every open presentation of a rater: `choose` picks the answer from what the server knows of it. */
async function answerAll(rater: { id: string; token: string }, choose: (truth: { kind: string; expected: string | null; swapped: boolean }) => string, responseMs = 1200) {
  for (;;) {
    const next = (await t.gql(NEXT, { study: studyId }, rater.token)).data!.nextPresentation;
    if (!next) return;
    const { rows } = await t.app.pool.query(
      `SELECT s.kind, i.expected, p.swapped FROM presentations p JOIN test_set_items i ON i.id = p.item_id JOIN test_sets s ON s.id = i.test_set_id WHERE p.id = $1`,
      [next.id],
    );
    const result = await t.gql(SUBMIT, { input: { presentationId: next.id, answer: choose(rows[0]), responseMs, clientKey: `all-${next.id}` } }, rater.token);
    expect(result.errors).toBeUndefined();
  }
}

/** The side showing p1: a rater who always picks p1 answers LEFT when p1 is on the left. */
const p1Side = (truth: { swapped: boolean }) => (truth.swapped ? 'LEFT' : 'RIGHT');
const right = (truth: { kind: string; expected: string | null; swapped: boolean }) =>
  truth.kind === 'JND' ? (truth.expected === 'DIFFERENT' ? 'DIFFERENT' : 'SAME') : truth.expected === 'P0' ? (truth.swapped ? 'RIGHT' : 'LEFT') : p1Side(truth);

it('aggregates per item over the included raters, and measures rater quality', async () => {
  // Raters 0-3 answer sentinels right and always choose p1 / say same; rater 4 answers everything wrong, fast.
  for (const rater of raters.slice(0, 4)) await answerAll(rater, right);
  await answerAll(raters[4], (truth) => (truth.kind === 'JND' ? (truth.expected === 'SAME' || truth.expected === null ? 'DIFFERENT' : 'SAME') : truth.expected === 'P1' ? (truth.swapped ? 'RIGHT' : 'LEFT') : truth.expected === 'P0' ? p1Side(truth) : truth.swapped ? 'RIGHT' : 'LEFT'), 200);

  const QUALITY = `query ($id: ID!) { study(id: $id) { progress { raters answered presentations items itemsShort itemsComplete }
    raterQuality { raterId judgments sentinels sentinelPassRate retests retestAgreement medianResponseMs excluded reasons } } }`;
  const { data } = await t.gql(QUALITY, { id: studyId });
  const byRater = new Map(data!.study.raterQuality.map((row: any) => [row.raterId, row]));
  expect(byRater.get(raters[1].id)).toMatchObject({ sentinels: 5, sentinelPassRate: 1, retestAgreement: 1, medianResponseMs: 1200, excluded: false });
  expect(byRater.get(raters[4].id)).toMatchObject({ sentinels: 5, sentinelPassRate: 0, retestAgreement: 1, medianResponseMs: 200 });
  expect(data!.study.progress).toMatchObject({ raters: 5, items: 18, itemsShort: 0, itemsComplete: 18 });

  const ITEMS = `query ($id: ID!, $set: ID) { study(id: $id) { itemJudgments(testSetId: $set) { items { itemId kind judgments fraction raterIds } inclusion { includedRaterIds excluded { raterId reasons } } } } }`;
  const all = (await t.gql(ITEMS, { id: studyId, set: twoAfcId })).data!.study.itemJudgments;
  expect(all.items).toHaveLength(12);
  // Four raters chose p1 everywhere, rater 4 chose p0 (except rater 0's first two answers, which were practice).
  for (const item of all.items) {
    expect(item.judgments).toBe(5);
    expect(item.raterIds).toHaveLength(5);
    expect(item.fraction).toBeCloseTo(item.raterIds.includes(raters[4].id) ? 0.8 : 1, 10);
  }

  const rules = await t.gql(`mutation ($id: ID!) { setStudyExclusions(studyId: $id, rules: { minSentinelPassRate: 0.8, minMedianResponseMs: 500 }) { exclusionRules } }`, { id: studyId });
  expect(rules.errors).toBeUndefined();
  const filtered = (await t.gql(ITEMS, { id: studyId, set: twoAfcId })).data!.study.itemJudgments;
  expect(filtered.inclusion.includedRaterIds).not.toContain(raters[4].id);
  expect(filtered.inclusion.excluded).toEqual([{ raterId: raters[4].id, reasons: [expect.stringContaining('sentinel pass rate 0.000 < 0.8'), expect.stringContaining('median response 200 ms < 500 ms')] }]);
  for (const item of filtered.items) {
    expect(item.judgments).toBe(4);
    expect(item.fraction).toBe(1);
  }
  // Exclusion deletes nothing.
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM judgments WHERE rater_id = $1`, [raters[4].id]);
  expect(rows[0].n).toBeGreaterThan(0);
  const bad = await t.gql(`mutation ($id: ID!) { setStudyExclusions(studyId: $id, rules: { minSentinelPassRate: 1.5 }) { id } }`, { id: studyId });
  expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rules.minSentinelPassRate' });
});

it('moves open items when raters join or withdraw, never giving a rater an item twice', async () => {
  const { data } = await t.gql(CREATE, { input: { name: 'panel changes', testSetIds: [twoAfcId], raterIds: raters.slice(0, 5).map((r) => r.id), seed: 3, protocol: { retestShare: 0 } } });
  const study = data!.createStudy.id;
  const joined = await t.gql(`mutation ($s: ID!, $r: [ID!]!) { addStudyRaters(studyId: $s, raterIds: $r) { moved unplaced } }`, { s: study, r: [raters[5].id] });
  expect(joined.errors).toBeUndefined();
  // 12 items x 5 = 60 among 5 raters (12 each); the sixth takes open ones until loads differ by at most 1.
  expect(joined.data!.addStudyRaters.moved).toBe(10);
  const open = await t.app.pool.query(`SELECT rater_id, count(*)::int AS n FROM presentations WHERE study_id = $1 AND purpose = 'MAIN' AND state = 'OPEN' GROUP BY rater_id`, [study]);
  const loads = open.rows.map((row) => row.n);
  expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);

  const left = await t.gql(`mutation ($s: ID!, $r: ID!) { withdrawStudyRater(studyId: $s, raterId: $r) { moved unplaced study { progress { activeRaters itemsShort } } } }`, { s: study, r: raters[0].id });
  expect(left.errors).toBeUndefined();
  // Every other rater already holds most of rater 0's items (5 of 6 raters judge each): what none can take is short.
  const change = left.data!.withdrawStudyRater;
  expect(change.moved + change.unplaced.length).toBe(10);
  expect(change.study.progress).toMatchObject({ activeRaters: 5, itemsShort: change.unplaced.length });
  const twice = await t.app.pool.query(
    `SELECT count(*)::int AS n FROM (SELECT rater_id, item_id FROM presentations WHERE study_id = $1 AND purpose = 'MAIN' AND state <> 'WITHDRAWN' GROUP BY rater_id, item_id HAVING count(*) > 1) t`,
    [study],
  );
  expect(twice.rows[0].n).toBe(0);
  expect((await t.gql(NEXT, { study }, raters[0].token)).data!.nextPresentation).toBeNull();
});

it('shows a rater nothing of kinds, severities, categories, scores, placements or other raters’ answers', async () => {
  // Every type reachable from the rater's root fields, by introspection.
  const { data } = await t.gql(`{ __schema { types { name fields { name type { name kind ofType { name kind ofType { name kind ofType { name } } } } } } } }`);
  const types = new Map<string, any>(data!.__schema.types.map((type: any) => [type.name, type]));
  const named = (type: any): string => (type.name ? type.name : named(type.ofType));
  const seen = new Set<string>();
  const walk = (name: string) => {
    if (seen.has(name) || !types.get(name)?.fields) return;
    seen.add(name);
    for (const field of types.get(name).fields) walk(named(field.type));
  };
  for (const root of ['myStudies', 'nextPresentation', 'submitJudgment']) {
    const field = [...types.get('Query').fields, ...types.get('Mutation').fields].find((f: any) => f.name === root);
    walk(named(field.type));
  }
  const fields = [...seen].flatMap((name) => types.get(name).fields.map((field: any) => `${name}.${field.name}`));
  expect(fields.length).toBeGreaterThan(10);
  const forbidden = /severit|categor|kinds|score|distortion|param|seed|spec|swap|placement|expected|sentinel|retest|purpose|p0|p1|rater(Id|s)\b|fraction|chose|item/i;
  expect(fields.filter((field) => forbidden.test(field.split('.')[1]))).toEqual([]);

  // And the values a rater gets back say none of it either.
  const rater = raters[5];
  const study = (await t.gql(`{ myStudies { id } }`, {}, rater.token)).data!.myStudies.at(-1).id;
  const next = await t.gql(NEXT, { study }, rater.token);
  const mine = await t.gql(`{ myStudies { id name open answered total } me { role rater { pseudonym } } }`, {}, rater.token);
  const text = JSON.stringify([next, mine]);
  for (const word of ['gaussian', 'blur', 'traditional', 'sentinel', 'severity', twoAfcId, raters[0].id]) expect(text).not.toContain(word);
});

it('lets a rater change an answer where the protocol allows it, keeping the old judgment', async () => {
  const { data } = await t.gql(CREATE, {
    input: { name: 'changeable', testSetIds: [jndId], raterIds: raters.slice(0, 3).map((r) => r.id), seed: 5, protocol: { allowAnswerChange: true, practice: false } },
  });
  const study = data!.createStudy.id;
  const next = (await t.gql(NEXT, { study }, raters[0].token)).data!.nextPresentation;
  expect(next).toMatchObject({ kind: 'JND', jnd: { referenceMs: 1000, blankMs: 250, distortedMs: 1000 } });
  expect(next.images).toMatchObject({ left: null, right: null, comparison: expect.stringContaining('/comparison.png') });
  const first = await t.gql(SUBMIT, { input: { presentationId: next.id, answer: 'SAME', responseMs: 700, clientKey: 'change-1' } }, raters[0].token);
  const second = await t.gql(SUBMIT, { input: { presentationId: next.id, answer: 'DIFFERENT', responseMs: 900, clientKey: 'change-2' } }, raters[0].token);
  expect(second.errors).toBeUndefined();
  expect(second.data!.submitJudgment.id).not.toBe(first.data!.submitJudgment.id);
  const { rows } = await t.app.pool.query(`SELECT answer, superseded_at IS NOT NULL AS superseded FROM judgments WHERE presentation_id = $1 ORDER BY received_at`, [next.id]);
  expect(rows).toEqual([{ answer: 'SAME', superseded: true }, { answer: 'DIFFERENT', superseded: false }]);
});

it('keeps a rater’s display check per study, checked against its ranges, for analysts to see', async () => {
  const RECORD = `mutation ($study: ID!, $check: DisplayCheckInput!) { recordDisplayCheck(studyId: $study, check: $check) }`;
  const check = { stepsShown: 16, stepsDistinguished: 14, screenWidth: 2560, screenHeight: 1440, devicePixelRatio: 2, zoom: 1, colorDepth: 30 };
  const stored = await t.gql(RECORD, { study: studyId, check }, raters[1].token);
  expect(stored.data!.recordDisplayCheck).toEqual(check);
  expect((await t.gql(`{ myStudies { id displayChecked } }`, {}, raters[1].token)).data!.myStudies).toContainEqual({ id: studyId, displayChecked: true });
  const bad = await t.gql(RECORD, { study: studyId, check: { ...check, stepsDistinguished: 17 } }, raters[1].token);
  expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'check.stepsDistinguished' });
  expect((await t.gql(RECORD, { study: studyId, check }, raters[5].token)).errors![0].extensions).toMatchObject({ code: 'NOT_FOUND' }); // not in the study
  expect((await t.gql(RECORD, { study: studyId, check: { ...check, stepsShown: 8, stepsDistinguished: 8 } }, raters[1].token)).errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'check.stepsShown' }); // not what the server drew
  const quality = await t.gql(`query ($id: ID!) { study(id: $id) { raterQuality { raterId displayCheck lastActivity } } }`, { id: studyId });
  const row = quality.data!.study.raterQuality.find((r: any) => r.raterId === raters[1].id);
  expect(row.displayCheck).toEqual(check);
  expect(row.lastActivity).not.toBeNull();
});

it('draws the display check on the server, in the study’s window, and stores that window with the check', async () => {
  const { data } = await t.gql(CREATE, { input: { name: 'windowed', testSetIds: [jndId], raterIds: [raters[2].id], seed: 2, protocol: { judgmentsPerItem: 1, windowCenter: 30000, windowWidth: 20000, zoom: 2 } } });
  const windowed = data!.createStudy.id;
  const mine = (await t.gql(`{ myStudies { id displayCheckImage displayCheckSteps } }`, {}, raters[2].token)).data!.myStudies;
  for (const id of [studyId, windowed]) {
    const study = mine.find((s: any) => s.id === id);
    expect(study).toMatchObject({ displayCheckSteps: 16, displayCheckImage: expect.stringContaining(`/display-checks/${id}.png?exp=`) });
    const response = await fetch(study.displayCheckImage); // a signed link: no token, as an <img> loads it
    expect(response.status).toBe(200);
    const png = Buffer.from(await response.arrayBuffer());
    expect(readPngHeader(png)).toMatchObject({ width: 16 * 48, height: 96, bitDepth: 8, colourType: 0 }); // 8-bit grey, as the presentation images
    const { data: pixels } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    // A linear window maps equally spaced stored values across it onto equally spaced 8-bit levels (windowValue).
    const levels = Array.from({ length: 16 }, (_, step) => pixels[step * 48 + 24]);
    expect(levels).toEqual(Array.from({ length: 16 }, (_, step) => step * 17));
  }
  const unsigned = await fetch(`${t.server!.url}/display-checks/${windowed}.png`, { headers: { authorization: `Bearer ${raters[3].token}` } });
  expect(unsigned.status).toBe(404); // another rater's study does not exist for them
  const check = { stepsShown: 16, stepsDistinguished: 16 };
  const stored = await t.gql(`mutation ($study: ID!, $check: DisplayCheckInput!) { recordDisplayCheck(studyId: $study, check: $check) }`, { study: windowed, check }, raters[2].token);
  expect(stored.data!.recordDisplayCheck).toEqual({ ...check, windowCenter: 30000, windowWidth: 20000 });
  const next = (await t.gql(`query ($study: ID!) { nextPresentation(studyId: $study) { zoom } }`, { study: windowed }, raters[2].token)).data!.nextPresentation;
  expect(next.zoom).toBe(2);
});
