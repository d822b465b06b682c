/**
 * The study's answer end to end, on a simulated panel: phantoms, a 2AFC and a JND set, a study whose five
 * simulated raters answer as an L2 observer with a little noise and a small lapse rate (`medpsim
 * simulate-panel`, through the public API), metric values stored by scoreTestSet, then studyAnalysis.
 * An observer that sees the L2 distance must make mse (and psnr, its monotone transform) rank first, with a
 * 2AFC score close to the one the simulation implies item by item; figures are seeded; bad options and
 * the wrong role get typed errors.
 */
import sharp from 'sharp';
import { Role } from '../../src/platform/context';
import { startTestApp, tokenFor, waitForJob, type TestApp } from '../helpers/app';
import { runCli, stopProcesses } from '../helpers/processes';
import { buildSet, importPhantoms } from '../helpers/testsets';

let t: TestApp;
let studyId: string;
let twoAfcSetId: string;
const NOISE = 0.003;
const LAPSE = 0.04;
const RATERS = 5;
const ITEMS = 40;

const METRICS = [{ name: 'mse' }, { name: 'psnr' }, { name: 'ssim' }, { name: 'gmsd' }, { name: 'vif' }, { name: 'haarpsi' }];
const POOL = [
  { kinds: ['gaussian_blur'], severityMin: 0.3, severityMax: 1, category: 'traditional' },
  { kinds: ['gaussian_noise'], severityMin: 0.005, severityMax: 0.06, category: 'traditional' },
];

const ANALYSIS = `query ($id: ID!, $input: AnalysisInput) { studyAnalysis(studyId: $id, input: $input) {
  fingerprint resamples seed twoWay
  inclusion { includedRaterIds includeSimulated simulatedIncluded excluded { pseudonym reasons } }
  metrics { label metric direction } notAnalysed { label testType scored items }
  twoAfc { items judgments metrics scopes { scope items judgments metrics { name score { value low high } }
    ceilings { pairwise { value low high } oracle { value low high } }
    comparisons { a b difference { value low high } p pAdjusted significant } ranking { name rank tier } } }
  jnd { items judgments identical { items judgments sameShare } scopes { scope items sameShare metrics { name map { value low high } curve { threshold recall precision } } ranking { name rank tier } } }
  panel { testType items judgments fleissKappa { value items } krippendorffAlpha { value items } }
  raters { pseudonym simulated excluded judgments twoAfcAgreement jndAgreement responseTimes { count quantiles } }
  curves { testType kind items human { fit { slope converged problem } threshold { value low high } curve { x p } observed { x p trials } } metrics { label curve { threshold { value } } } }
  examples { itemId testType category judgments fraction metrics { label choice distance } }
} }`;

beforeAll(async () => {
  t = await startTestApp({ http: true });
  const datasetId = await importPhantoms(t, 8, 256);
  const common = { datasetId, references: ITEMS, size: 64, patchesPerImage: 5, pool: POOL, sentinels: 2, seed: 4 };
  twoAfcSetId = (await buildSet(t, { ...common, name: 'afc', kind: 'TWO_AFC' })).id;
  const jndSetId = (await buildSet(t, { ...common, name: 'jnd', kind: 'JND', identicalShare: 0.2 })).id;
  const created = await t.gql(`mutation ($input: CreateStudyInput!) { createStudy(input: $input) { id } }`, {
    input: { name: 'agreement', testSetIds: [twoAfcSetId, jndSetId], simulatedRaters: RATERS, seed: 2, protocol: { judgmentsPerItem: RATERS, retestShare: 0, practice: false } },
  });
  expect(created.errors).toBeUndefined();
  studyId = created.data!.createStudy.id;
  const run = await runCli({ url: t.server!.url, token: t.token }, ['simulate-panel', studyId, '--noise', String(NOISE), '--lapse', String(LAPSE), '--jnd-threshold', '0.01', '--concurrency', '3']);
  expect({ code: run.code, output: run.code === 0 ? '' : run.output }).toEqual({ code: 0, output: '' });
  for (const setId of [twoAfcSetId, jndSetId]) {
    const started = await t.gql(`mutation ($id: ID!, $metrics: [MetricInput!]!) { scoreTestSet(testSetId: $id, metrics: $metrics) { id } }`, { id: setId, metrics: METRICS });
    expect(started.errors).toBeUndefined();
    const job = await waitForJob(t, started.data!.scoreTestSet.id, 120_000);
    expect(job.state).toBe('COMPLETED');
  }
}, 300_000);

afterAll(async () => {
  await stopProcesses();
  await t?.close();
});

async function analysis(input: Record<string, unknown>, token?: string) {
  const { data, errors } = await t.gql(ANALYSIS, { id: studyId, input }, token);
  expect(errors).toBeUndefined();
  return data!.studyAnalysis;
}

/** The simulated observer's distance: root-mean-square of the displayed 8-bit pixels scaled to [0, 1]. */
async function displayed(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return sharp(Buffer.from(await response.arrayBuffer())).raw().toBuffer();
}
function rms(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] - b[i]) / 255) ** 2;
  return Math.sqrt(sum / a.length);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf, |error| < 1.5e-7: ample for a 0.05 tolerance). */
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const k = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * k - 1.453152027) * k + 1.421413741) * k - 0.284496736) * k + 0.254829592) * k * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

it('leaves simulated raters out unless asked, and says so on every figure', async () => {
  const people = await analysis({ resamples: 0 });
  expect(people.inclusion).toMatchObject({ includedRaterIds: [], includeSimulated: false, simulatedIncluded: false });
  expect(people.inclusion.excluded).toHaveLength(RATERS);
  expect(people.twoAfc).toBeNull();
  expect(people.jnd).toBeNull();

  const simulated = await analysis({ includeSimulated: true, resamples: 0 });
  expect(simulated.inclusion).toMatchObject({ includeSimulated: true, simulatedIncluded: true });
  expect(simulated.inclusion.includedRaterIds).toHaveLength(RATERS);
  expect(simulated.raters.every((rater: any) => rater.simulated && !rater.excluded)).toBe(true);
});

it('ranks the observer\'s own metric first, with the 2AFC score the simulation implies', async () => {
  const result = await analysis({ includeSimulated: true, resamples: 1000, seed: 7 });
  const all = result.twoAfc.scopes.find((scope: any) => scope.scope === 'all');
  expect(result.twoAfc.metrics.sort()).toEqual(['gmsd', 'haarpsi', 'mse', 'psnr', 'ssim', 'vif']);
  expect(all.items).toBe(ITEMS);
  expect(all.judgments).toBe(ITEMS * RATERS);
  const score = (name: string) => all.metrics.find((m: any) => m.name === name).score;

  // mse and psnr order every pair alike: equal scores, a zero difference, p = 1.
  expect(score('mse').value).toBeCloseTo(score('psnr').value, 12);
  const same = all.comparisons.find((c: any) => [c.a, c.b].sort().join() === 'mse,psnr');
  expect(same.difference.value).toBeCloseTo(0, 12);
  expect(same.p).toBe(1);
  // Ranked first (ranks are shared by equal scores), and the design discriminates: some metric scores lower.
  const rankOf = (name: string) => all.ranking.find((r: any) => r.name === name).rank;
  expect([rankOf('mse'), rankOf('psnr')]).toEqual([1, 1]);
  for (const m of all.metrics) expect(score('mse').value).toBeGreaterThanOrEqual(m.score.value);
  expect(Math.min(...all.metrics.map((m: any) => m.score.value))).toBeLessThan(score('mse').value - 0.02);

  // What the simulation implies: per item, P(chose p1) = lapse/2 + (1 - lapse) Phi((d0 - d1) / noise) with the
  // observer's distances on the displayed images; mse is credited that share where it picks p1, else 1 - it.
  const { data } = await t.gql(`query ($id: ID!) { testSet(id: $id) { items(first: 100) { id role images { ref p0 p1 } scores(metrics: [{ name: mse }]) { d0 d1 } } } }`, { id: twoAfcSetId });
  let implied = 0;
  let items = 0;
  for (const item of data!.testSet.items.filter((i: any) => i.role === 'ITEM')) {
    const [ref, p0, p1] = await Promise.all([displayed(item.images.ref), displayed(item.images.p0), displayed(item.images.p1)]);
    const q = LAPSE / 2 + (1 - LAPSE) * phi((rms(ref, p0) - rms(ref, p1)) / NOISE);
    const { d0, d1 } = item.scores[0];
    implied += d1 < d0 ? q : d0 < d1 ? 1 - q : 0.5;
    items++;
  }
  implied /= items;
  // Five answers per item over 40 items: the score's sd is at most sqrt(0.25 / 5 / 40) = 0.035; 0.1 is almost three of those.
  expect(Math.abs(score('mse').value - implied)).toBeLessThan(0.1);
  expect(score('mse').low).toBeLessThanOrEqual(score('mse').value);
  expect(score('mse').high).toBeGreaterThanOrEqual(score('mse').value);

  // The ceilings, both named: a panel that sees L2 with little noise agrees with itself far above chance.
  expect(all.ceilings.oracle.value).toBeGreaterThanOrEqual(all.ceilings.pairwise.value);
  expect(all.ceilings.pairwise.value).toBeGreaterThan(0.7);
  expect(result.twoAfc.scopes.map((s: any) => s.scope)).toEqual(expect.arrayContaining(['all', 'kind: gaussian_blur', 'kind: gaussian_noise']));

  // JND: distorted pairs only; identical pairs reported apart.
  expect(result.jnd.identical.items).toBeGreaterThan(0);
  expect(result.jnd.identical.sameShare).toBeGreaterThan(0.8);
  const jndAll = result.jnd.scopes.find((scope: any) => scope.scope === 'all');
  const map = jndAll.metrics.find((m: any) => m.name === 'mse').map;
  expect(map.value).toBeGreaterThan(0);
  expect(map.value).toBeLessThanOrEqual(1);
  expect(jndAll.metrics.find((m: any) => m.name === 'mse').curve.length).toBeGreaterThan(1);

  // Raters: a low-noise panel agrees; each rater's agreement with the rest and response times are there.
  const afcPanel = result.panel.find((p: any) => p.testType === 'TWO_AFC');
  expect(afcPanel.fleissKappa.value).toBeGreaterThan(0.4);
  expect(afcPanel.krippendorffAlpha.value).toBeGreaterThan(0.4);
  for (const rater of result.raters) {
    expect(rater.twoAfcAgreement).toBeGreaterThan(0.6);
    expect(rater.responseTimes.count).toBe(rater.judgments);
    expect(rater.responseTimes.quantiles.p50).toBeGreaterThanOrEqual(150);
  }
  expect(result.examples.length).toBeGreaterThan(0);
});

it('fits psychometric curves per kind: more severe, more often seen', async () => {
  const result = await analysis({ includeSimulated: true, resamples: 200, seed: 3 });
  const jndCurves = result.curves.filter((c: any) => c.testType === 'JND');
  expect(jndCurves.length).toBeGreaterThan(0);
  const fitted = result.curves.filter((c: any) => c.human.fit.converged);
  expect(new Set(fitted.map((c: any) => c.testType))).toEqual(new Set(['JND', 'TWO_AFC']));
  for (const set of result.curves) {
    expect(set.items).toBeGreaterThanOrEqual(8);
    if (!set.human.fit.converged) {
      expect(set.human.fit.problem).toMatch(/separation|too-few-levels|no-convergence/);
      expect(set.human.threshold).toBeNull();
      continue;
    }
    expect(set.human.fit.slope).toBeGreaterThan(0);
    const points = set.human.curve;
    expect(points[points.length - 1].p).toBeGreaterThan(points[0].p);
    const { value, low, high } = set.human.threshold;
    expect(low).toBeLessThanOrEqual(value);
    expect(high).toBeGreaterThanOrEqual(value);
    expect(set.metrics.map((m: any) => m.label)).toEqual(expect.arrayContaining(['mse']));
  }
});

it('gives the same figures for the same seed, others for another, and two-way intervals on request', async () => {
  const input = { includeSimulated: true, resamples: 300, seed: 11 };
  const [first, again, other, twoWay] = [await analysis(input), await analysis(input), await analysis({ ...input, seed: 12 }), await analysis({ ...input, twoWay: true })];
  const intervals = (a: any) => a.twoAfc.scopes.flatMap((s: any) => s.metrics.map((m: any) => [m.score.low, m.score.high]));
  expect(again.fingerprint).toBe(first.fingerprint);
  expect(intervals(again)).toEqual(intervals(first));
  expect(intervals(other)).not.toEqual(intervals(first));
  expect(twoWay.twoWay).toBe(true);
  expect(intervals(twoWay)).not.toEqual(intervals(first));
  const values = (a: any) => a.twoAfc.scopes.flatMap((s: any) => s.metrics.map((m: any) => m.score.value));
  expect(values(twoWay)).toEqual(values(first));
});

it('refuses bad options with typed errors naming the field, and other roles', async () => {
  for (const [input, field] of [
    [{ resamples: 20_000 }, 'resamples'],
    [{ resamples: -1 }, 'resamples'],
    [{ confidence: 1.5 }, 'confidence'],
    [{ seed: -3 }, 'seed'],
    [{ metrics: [{ name: 'ms_ssim', params: { scales: 9 } }] }, 'metrics[0].params.scales'],
  ] as const) {
    const { errors } = await t.gql(ANALYSIS, { id: studyId, input });
    expect(errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  }
  const missing = await t.gql(ANALYSIS, { id: '00000000-0000-4000-8000-000000000000', input: null });
  expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  const invited = await t.gql(`mutation { createRater(input: { displayName: "Dr. Reader" }) { code } }`);
  const accepted = await t.gql(`mutation ($code: String!) { acceptInvitation(code: $code) { secret } }`, { code: invited.data!.createRater.code }, null);
  const rater = await t.gql(ANALYSIS, { id: studyId, input: null }, accepted.data!.acceptInvitation.secret);
  expect(rater.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  const analyst = await analysis({ includeSimulated: true, resamples: 0 }, await tokenFor(t.app, Role.ANALYST));
  expect(analyst.twoAfc.items).toBe(ITEMS);
});

it('prints the same analysis as tables from the CLI, and as JSON', async () => {
  const server = { url: t.server!.url, token: t.token };
  const run = await runCli(server, ['analysis', studyId, '--include-simulated', '--resamples', '100', '--metric', 'mse', '--metric', 'ssim']);
  expect(run.code).toBe(0);
  expect(run.output).toContain('5 raters included (INCLUDES SIMULATED raters), 0 excluded');
  expect(run.output).toContain('95% bootstrap intervals over items, 100 resamples, seed 1');
  expect(run.output).toMatch(/\nall \(40 items\)\nmetric +2AFC score\nmse +0\.\d{3} \[0\.\d{3}, [01]\.\d{3}\]/);
  expect(run.output).toMatch(/human: two raters agree +0\.\d{3}/);
  expect(run.output).toContain("Fleiss' kappa");
  expect(run.output).toContain('psychometric thresholds');
  expect(run.output).not.toContain('psnr'); // only the metrics asked for

  const json = await runCli(server, ['analysis', studyId, '--include-simulated', '--resamples', '100', '--json']);
  expect(json.code).toBe(0);
  const parsed = JSON.parse(json.output.trim().split('\n').at(-1)!);
  expect(parsed.twoAfc.metrics.sort()).toEqual(['gmsd', 'haarpsi', 'mse', 'psnr', 'ssim', 'vif']);
  const bad = await runCli(server, ['analysis', studyId, '--resamples', '99999']);
  expect(bad.code).not.toBe(0);
  expect(bad.output).toMatch(/resamples/);
});
