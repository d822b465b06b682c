/**
 * The analysis page (/analysis/<id>) in headless Chromium (Debian's, driven by playwright-core) against the
 * real server, on a study answered by a simulated panel (`medpsim simulate-panel`, with noise and lapses)
 * and scored by three metrics: an analyst asks for the analysis with simulated raters, every chart is drawn
 * (SVG with marks) and its CSV and JSON download, the example images load, simulated raters are labelled
 * SIMULATED, the report downloads as a self-contained file; a rater's token is refused, and so are bad
 * options and unknown charts. An accessibility scan (axe-core) finds nothing serious; a screenshot goes to
 * test-artifacts/analysis-page/.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { acceptInvitation, createRater } from '../../src/access/raters';
import { CHART_IDS } from '../../src/agreement/charts';
import { Role } from '../../src/platform/context';
import { webAppFolder } from '../../src/server/web-route';
import { startTestApp, tokenFor, waitForJob, type TestApp } from '../helpers/app';
import { launchChromium, seriousViolations } from '../helpers/browser';
import { runCli, stopProcesses } from '../helpers/processes';
import { buildSet, importPhantoms } from '../helpers/testsets';

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts', 'analysis-page');
const RATERS = 4;
const METRICS = [{ name: 'mse' }, { name: 'ssim' }, { name: 'psnr' }];
const POOL = [
  { kinds: ['gaussian_blur'], severityMin: 0.05, severityMax: 1 },
  { kinds: ['gaussian_noise'], severityMin: 0.05, severityMax: 1 },
];
/** Few resamples: the figures need intervals, not precise ones. */
const RESAMPLES = 100;
const QUERY = `includeSimulated=true&twoWay=false&resamples=${RESAMPLES}&seed=1`;

let t: TestApp;
let browser: Browser;
let studyId: string;
let analystToken: string;
let raterToken: string;

beforeAll(async () => {
  if (!existsSync(path.join(webAppFolder('analysis'), 'index.html'))) throw new Error('web/dist/analysis is missing: run npm run build');
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await startTestApp({ http: true });
  const datasetId = await importPhantoms(t, 8, 256);
  // 32 items per set, two kinds: enough single-kind items per kind for psychometric curves.
  const common = { datasetId, references: 32, size: 64, patchesPerImage: 4, pool: POOL, sentinels: 2, seed: 4 };
  const setIds = [(await buildSet(t, { ...common, name: 'afc', kind: 'TWO_AFC' })).id, (await buildSet(t, { ...common, name: 'jnd', kind: 'JND', identicalShare: 0.15 })).id];
  const created = await t.gql(`mutation ($input: CreateStudyInput!) { createStudy(input: $input) { id } }`, {
    input: { name: 'Analysis page study', testSetIds: setIds, simulatedRaters: RATERS, seed: 2, protocol: { judgmentsPerItem: RATERS, retestShare: 0, practice: false } },
  });
  expect(created.errors).toBeUndefined();
  studyId = created.data!.createStudy.id;
  const run = await runCli({ url: t.server!.url, token: t.token }, ['simulate-panel', studyId, '--noise', '0.003', '--lapse', '0.05', '--jnd-threshold', '0.01', '--concurrency', '2']);
  expect({ code: run.code, output: run.code === 0 ? '' : run.output }).toEqual({ code: 0, output: '' });
  for (const setId of setIds) {
    const started = await t.gql(`mutation ($id: ID!, $metrics: [MetricInput!]!) { scoreTestSet(testSetId: $id, metrics: $metrics) { id } }`, { id: setId, metrics: METRICS });
    expect(started.errors).toBeUndefined();
    expect((await waitForJob(t, started.data!.scoreTestSet.id, 120_000)).state).toBe('COMPLETED');
  }
  analystToken = await tokenFor(t.app, Role.ANALYST);
  const invitation = await createRater(t.app, { displayName: 'analysis page reader' });
  raterToken = (await acceptInvitation(t.app, invitation.code)).secret;
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stopProcesses();
  await t?.close();
});

async function openWith(token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${t.server!.url}/analysis/${studyId}`);
  await page.getByLabel(/Your API token/).fill(token);
  await page.getByRole('button', { name: 'Show the analysis' }).click();
  return page;
}

/** What a download button saves: its file name and text. */
async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, 'utf8') };
}

/** The analysis with simulated raters, as an analyst asks for it on the page. */
async function showWithSimulated(page: Page): Promise<void> {
  await page.getByLabel('Include simulated raters').check();
  await page.getByLabel('Bootstrap resamples').fill(String(RESAMPLES));
  await page.getByRole('button', { name: 'Show the analysis' }).click();
  await page.locator('#chart-twoafc-scores svg').waitFor({ timeout: 120_000 });
  await page.getByRole('heading', { name: 'Analysis: Analysis page study' }).waitFor();
}

/** A chart's rows as a script gets them, with the token. */
async function chartJson(id: string): Promise<{ columns: string[]; rows: Array<Record<string, unknown>> }> {
  const response = await t.request(`/analysis/${studyId}/charts/${id}.json?${QUERY}`, {}, analystToken);
  expect(response.status).toBe(200);
  return (await response.json()) as { columns: string[]; rows: Array<Record<string, unknown>> };
}

it('shows an analyst every chart with its CSV, the examples and the simulated raters', async () => {
  const page = await openWith(analystToken);
  // The first view leaves simulated raters out: this study has no one else, and the page says so plainly.
  await page.locator('#chart-twoafc-scores .empty').waitFor({ timeout: 120_000 });
  await expect(page.locator('#chart-twoafc-scores').textContent()).resolves.toContain('simulated raters are left out');
  await showWithSimulated(page);

  for (const id of CHART_IDS) {
    const figure = page.locator(`figure[data-chart="${id}"]`);
    expect({ id, unavailable: await figure.locator('.empty').count() }).toEqual({ id, unavailable: 0 });
    const marks = await figure.locator('svg g[class*="role-mark"] > *').count();
    expect({ id, marks: marks > 0 }).toEqual({ id, marks: true });
    // The page's button fetches with the token and saves the rows: the same rows the route gives a script.
    const expected = await chartJson(id);
    expect(expected.rows.length).toBeGreaterThan(0);
    const csv = await downloaded(page, () => figure.getByRole('button', { name: /^Data as CSV/ }).click());
    expect(csv.name).toBe(`medpsim-analysis-page-study-${id}.csv`);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(expected.columns.join(','));
    expect({ id, rows: lines.length - 1 }).toEqual({ id, rows: expected.rows.length });
  }
  // Every analysed metric is in the 2AFC figure's data, with the two ceilings.
  const scores = await chartJson('twoafc-scores');
  expect(new Set(scores.rows.map((row) => row.name))).toEqual(new Set(['mse', 'ssim', 'psnr', 'pairwise ceiling', 'oracle ceiling']));

  // The examples' images are signed links to the server's 8-bit renditions, and they load.
  const images = page.locator('.example img');
  expect(await images.count()).toBeGreaterThan(0);
  // Strings, not functions: this file is typed without the DOM's names.
  await page.waitForFunction(`[...document.querySelectorAll('.example img')].every((img) => img.complete)`, undefined, { timeout: 30_000 });
  const widths = (await page.evaluate(`[...document.querySelectorAll('.example img')].map((img) => img.naturalWidth)`)) as number[];
  expect(widths.every((width) => width === 64)).toBe(true);
  for (const alt of await images.evaluateAll((list) => list.map((img) => img.getAttribute('alt')))) expect(alt).toMatch(/^(reference|p0|p1)/);

  // Simulated raters, labelled as such.
  await expect(page.locator('.simulated-banner').textContent()).resolves.toContain('SIMULATED raters are included');
  const raterRows = page.locator('#raters ~ table tbody tr', { hasText: /S-[0-9a-f]{6}/ });
  expect(await raterRows.count()).toBe(RATERS);
  for (const text of await raterRows.allTextContents()) expect(text).toContain('SIMULATED');

  expect(await seriousViolations(page)).toEqual([]);
  await page.screenshot({ path: path.join(ARTIFACTS, 'analyst.png'), fullPage: true });
  await page.close();
});

// A page of its own: Chromium stops a tab's downloads after ten.
it('downloads each chart as JSON and the report as a self-contained file', async () => {
  const page = await openWith(analystToken);
  await showWithSimulated(page);
  for (const id of CHART_IDS) {
    const figure = page.locator(`figure[data-chart="${id}"]`);
    const json = await downloaded(page, () => figure.getByRole('button', { name: /^Data as JSON/ }).click());
    expect(json.name).toBe(`medpsim-analysis-page-study-${id}.json`);
    const body = JSON.parse(json.text);
    expect(body).toMatchObject({ chart: id, simulatedIncluded: true, options: { includeSimulated: true, resamples: RESAMPLES } });
    expect(body.rows).toEqual((await chartJson(id)).rows);
  }

  // The downloaded report stands alone: images inline, chart data inline, no script.
  const report = await downloaded(page, () => page.getByRole('button', { name: 'Download report' }).click());
  expect(report.name).toBe('medpsim-analysis-page-study-analysis.html');
  expect(report.text).not.toMatch(/<script/i);
  expect(report.text).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/);
  expect(report.text).not.toContain('sig=');
  for (const id of CHART_IDS) expect(report.text).toContain(`download="medpsim-analysis-page-study-${id}.csv" href="data:text/csv`);
  await page.close();
});

it('refuses a rater on the page, and other roles, bad options and unknown charts over HTTP', async () => {
  const page = await openWith(raterToken);
  await page.getByRole('alert').waitFor();
  await expect(page.getByRole('alert').textContent()).resolves.toContain('may not see analyses');
  await page.close();

  const report = `/analysis/${studyId}/report.html`;
  for (const token of [raterToken, await tokenFor(t.app, Role.PIPELINE)]) {
    const refused = await t.request(report, {}, token);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.code).toBe('FORBIDDEN');
  }
  expect((await t.request(report, {}, null)).status).toBe(401);
  // The shell page is public and holds no data.
  const shell = await t.request(`/analysis/${studyId}`, {}, null);
  expect(shell.status).toBe(200);
  expect(await shell.text()).not.toContain('Analysis page study');

  for (const [query, field] of [
    ['resamples=lots', 'resamples'],
    ['resamples=20000', 'resamples'],
    ['seed=-1', 'seed'],
    ['confidence=2', 'confidence'],
    ['includeSimulated=maybe', 'includeSimulated'],
  ]) {
    const bad = await t.request(`${report}?${query}`, {}, analystToken);
    expect({ query, status: bad.status }).toEqual({ query, status: 400 });
    expect(((await bad.json()) as any).error).toMatchObject({ code: 'BAD_USER_INPUT', field });
  }
  const unknown = await t.request(`/analysis/${studyId}/charts/pie.csv`, {}, analystToken);
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as any).error).toMatchObject({ code: 'NOT_FOUND', charts: [...CHART_IDS] });
  expect((await t.request(`/analysis/${studyId}/charts/twoafc-scores.xml`, {}, analystToken)).status).toBe(404);
  expect((await t.request(`/analysis/00000000-0000-4000-8000-000000000000/report.html`, {}, analystToken)).status).toBe(404);

  // The report as served: its own strict policy, and a downloadable copy named after the study.
  const served = await t.request(`${report}?${QUERY}&download=1`, {}, analystToken);
  expect(served.status).toBe(200);
  expect(served.headers.get('content-security-policy')).toMatch(/default-src 'none'; img-src 'self' data:; style-src 'sha256-/);
  expect(served.headers.get('content-disposition')).toBe('attachment; filename="medpsim-analysis-page-study-analysis.html"');
});
