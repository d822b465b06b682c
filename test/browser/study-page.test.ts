/**
 * The study page (/studies/<id>) in headless Chromium (Debian's, driven by playwright-core) against the real
 * server: an admin sees the panel's progress, each rater's quality and makes invitation links; an analyst sees
 * the same without invitations; a rater's token is refused. An accessibility scan (axe-core) of the page finds
 * nothing serious; a screenshot goes to test-artifacts/study-page/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, seriousViolations } from '../helpers/browser';
import { acceptInvitation, createRater } from '../../src/access/raters';
import { Role } from '../../src/platform/context';
import { nextPresentation, submitJudgment } from '../../src/studies/judgments';
import { webAppFolder } from '../../src/server/web-route';
import { startTestApp, tokenFor, type TestApp } from '../helpers/app';
import { buildSet, importPhantoms } from '../helpers/testsets';

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts', 'study-page');

let t: TestApp;
let browser: Browser;
let studyId: string;
const raterTokens: string[] = [];

beforeAll(async () => {
  if (!existsSync(path.join(webAppFolder('study'), 'index.html'))) throw new Error('web/dist/study is missing: run npm run build');
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await startTestApp({ http: true });
  const datasetId = await importPhantoms(t, 4, 128);
  const set = await buildSet(t, { name: 'page', kind: 'TWO_AFC', datasetId, references: 4, size: 64, pool: [{ kinds: ['gaussian_blur'] }], sentinels: 1, seed: 1 });
  const raterIds: string[] = [];
  for (let i = 0; i < 2; i++) {
    const invitation = await createRater(t.app, { displayName: `page reader ${i}` });
    raterTokens.push((await acceptInvitation(t.app, invitation.code)).secret);
    raterIds.push(invitation.rater.id);
  }
  const { data } = await t.gql(`mutation ($input: CreateStudyInput!) { createStudy(input: $input) { id } }`, {
    input: { name: 'Page study', testSetIds: [set.id], raterIds, seed: 2, protocol: { judgmentsPerItem: 1, retestShare: 0, practice: false } },
  });
  studyId = data!.createStudy.id;
  for (let i = 0; i < 2; i++) {
    const next = (await nextPresentation(t.app, raterIds[0], studyId))!;
    await submitJudgment(t.app, raterIds[0], { presentationId: next.id, answer: 'LEFT', responseMs: 900 + i, clientKey: `page-${i}` });
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function openWith(token: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${t.server!.url}/studies/${studyId}`);
  await page.getByLabel(/Your API token/).fill(token);
  await page.getByRole('button', { name: 'Show the study' }).click();
  return page;
}

it('shows an admin the progress, each rater and fresh invitation links', async () => {
  const page = await openWith(t.token);
  await page.getByRole('heading', { name: 'Page study' }).waitFor();
  // 4 items x 1 judgment + 1 sentinel for each of 2 raters = 6 presentations; rater 0 answered 2.
  await expect(page.locator('.figures').textContent()).resolves.toContain('2 / 6');
  const rows = page.locator('tbody tr');
  expect(await rows.count()).toBe(2);
  await expect(rows.first().textContent()).resolves.toMatch(/R-[0-9a-f]{6}/);
  await rows.first().getByRole('button', { name: /New link for R-/ }).click();
  const link = rows.first().locator('output', { hasText: '/read#invite=' });
  await link.waitFor();
  expect(await link.textContent()).toMatch(/\/read#invite=[A-Za-z0-9_-]{22} /);
  expect(await seriousViolations(page)).toEqual([]);
  await page.screenshot({ path: path.join(ARTIFACTS, 'admin.png'), fullPage: true });
  await page.close();
});

it('shows an analyst the same without invitations, and refuses a rater', async () => {
  const analyst = await openWith(await tokenFor(t.app, Role.ANALYST));
  await analyst.getByRole('heading', { name: 'Page study' }).waitFor();
  expect(await analyst.getByRole('button', { name: /New link for R-/ }).count()).toBe(0);
  await analyst.close();

  const rater = await openWith(raterTokens[1]);
  await rater.getByRole('alert').waitFor();
  await expect(rater.getByRole('alert').textContent()).resolves.toContain('may not see studies');
  await rater.close();
});
