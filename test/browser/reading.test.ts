/**
 * The reading app (web/read, built into web/dist/read by `npm run build`) in a real browser: Debian's
 * Chromium through playwright-core, against the real server. A rater opens their invitation link and goes
 * through instructions, the display check, practice with feedback, 2AFC and JND items, a break and the
 * done screen; then the database must hold every answer with its display. Also: JND timing, answers kept
 * through a network cut and sent exactly once (on the browser's online event too), resuming after the page
 * was closed, answers kept through a refused token and never sent as another rater on a shared browser,
 * the study list, a study's fixed zoom, what a rater token cannot reach, accessibility (axe-core) on every
 * screen, and screenshots under test-artifacts/reading/.
 *
 * Page code is passed to the browser as strings: the test's own TypeScript has no DOM types.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, seriousViolations } from '../helpers/browser';
import { createRater, inviteRater } from '../../src/access/raters';
import { revokeToken } from '../../src/access/tokens';
import { startTestApp, type TestApp } from '../helpers/app';
import { buildSet, importPhantoms } from '../helpers/testsets';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const APP_PAGE = path.join(ROOT, 'web', 'dist', 'read', 'index.html');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'reading');
/** Headless Chromium draws at 60 Hz: a shown duration can be off its target by at most about one frame (16.7 ms). */
const ONE_FRAME_MS = 20;

let t: TestApp;
let browser: Browser;
let afcSetId: string;
let jndSetId: string;
const contexts: BrowserContext[] = [];

interface Screen {
  screen: string;
  seq: number;
  number: number;
  practice: boolean;
}

const CREATE = `mutation ($input: CreateStudyInput!) { createStudy(input: $input) { id } }`;

const linkOf = (code: string) => `${t.server!.url}/read#invite=${code}`;

/** A study with one rater: a new one, or `raterIds` (the first of them gets the link). */
async function newStudy(name: string, testSetIds: string[], protocol: Record<string, unknown>, raterIds?: string[]): Promise<{ studyId: string; raterId: string; link: string }> {
  const invitation = raterIds ? await inviteRater(t.app, raterIds[0]) : await createRater(t.app, { displayName: `reader of ${name}` });
  const { data, errors } = await t.gql(CREATE, { input: { name, testSetIds, raterIds: raterIds ?? [invitation.rater.id], seed: 7, protocol: { judgmentsPerItem: 1, retestShare: 0, ...protocol } } });
  if (errors) throw new Error(JSON.stringify(errors));
  return { studyId: data!.createStudy.id, raterId: invitation.rater.id, link: linkOf(invitation.code) };
}

const outboxSize = (page: Page) =>
  page.evaluate(`new Promise((resolve) => { const r = indexedDB.open('medpsim-read'); r.onsuccess = () => { const q = r.result.transaction('outbox').objectStore('outbox').count(); q.onsuccess = () => resolve(q.result); }; })`);

/** Through instructions and the display check to the first item. */
async function toFirstItem(page: Page): Promise<Screen> {
  let screen = await nextScreen(page, 0);
  while (screen.screen === 'instructions' || screen.screen === 'check') {
    if (screen.screen === 'check') await page.fill('#steps', '16');
    await page.keyboard.press('Enter');
    screen = await nextScreen(page, screen.seq);
  }
  return screen;
}

async function waitForJudgments(studyId: string, count: number, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
    const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM judgments WHERE study_id = $1`, [studyId]);
    if (rows[0].n >= count) return;
  }
  throw new Error(`study ${studyId}: fewer than ${count} judgments after ${timeoutMs} ms`);
}

/** A page that fails the test on a page error or a Content-Security-Policy refusal. */
async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  (page as any).problems = problems;
  await page.goto(url);
  return page;
}

const problemsOf = (page: Page): string[] => (page as any).problems;

function state(page: Page): Promise<Screen> {
  return page.evaluate(`(() => { const m = document.querySelector('main');
    return { screen: m.dataset.screen, seq: Number(m.dataset.seq), number: Number(m.dataset.number || 0), practice: m.dataset.practice === 'true' }; })()`) as Promise<Screen>;
}

/**
 * Waits for the screen after `seq` that takes input. The predicates are functions, not strings: a string
 * would be eval'd in the page, which its CSP refuses. They run in the browser (hence globalThis.document).
 */
async function nextScreen(page: Page, seq: number, timeout = 30_000): Promise<Screen> {
  await page.waitForFunction(
    (after) => {
      const main = (globalThis as any).document.querySelector('main');
      return Number(main.dataset.seq) > after && main.dataset.ready === 'true';
    },
    seq,
    { timeout, polling: 50 },
  );
  return state(page);
}

async function waitForScreen(page: Page, name: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction((screen) => (globalThis as any).document.querySelector('main').dataset.screen === screen, name, { timeout, polling: 20 });
}

async function judgmentRows(studyId: string) {
  const { rows } = await t.app.pool.query(
    `SELECT p.id, p.sequence, s.kind, p.purpose, p.state, j.response_ms AS "responseMs", j.display, j.answer,
            (SELECT count(*)::int FROM judgments k WHERE k.presentation_id = p.id) AS judgments
     FROM presentations p JOIN test_set_items i ON i.id = p.item_id JOIN test_sets s ON s.id = i.test_set_id
     LEFT JOIN judgments j ON j.presentation_id = p.id AND j.superseded_at IS NULL
     WHERE p.study_id = $1 ORDER BY p.sequence`,
    [studyId],
  );
  return rows;
}

beforeAll(async () => {
  if (!existsSync(APP_PAGE)) throw new Error(`the reading app is not built (${path.relative(ROOT, APP_PAGE)} is missing): run npm run build`);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  t = await startTestApp({ http: true });
  const datasetId = await importPhantoms(t, 4, 128);
  const common = { datasetId, size: 64, patchesPerImage: 2, pool: [{ kinds: ['gaussian_blur'] }, { kinds: ['gaussian_noise'] }], seed: 1 };
  afcSetId = (await buildSet(t, { ...common, name: 'afc', kind: 'TWO_AFC', references: 4, sentinels: 1, practice: 1 })).id;
  jndSetId = (await buildSet(t, { ...common, name: 'jnd', kind: 'JND', references: 3, sentinels: 0, practice: 0 })).id;
}, 180_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
});

let studyA: { studyId: string; raterId: string; link: string };

it('takes a rater from the invitation link through instructions, display check, practice, 2AFC, JND and a break to the end', async () => {
  studyA = await newStudy('reading A', [afcSetId, jndSetId], { breakEvery: 3 });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await openPage(context, studyA.link);

  const seen = new Map<string, number>();
  const visit = async (name: string) => {
    seen.set(name, (seen.get(name) ?? 0) + 1);
    if (seen.get(name)! > 1) return;
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
    expect({ screen: name, violations: await seriousViolations(page) }).toEqual({ screen: name, violations: [] });
  };

  let screen = await nextScreen(page, 0);
  expect(screen.screen).toBe('instructions');
  expect(page.url()).toBe(`${t.server!.url}/read`); // the one-time code is gone from the address
  expect(await page.locator('main').count()).toBe(1);
  let answered = 0;
  let clicked = false;
  while (screen.screen !== 'done') {
    await visit(screen.screen);
    switch (screen.screen) {
      case 'instructions':
        expect(await page.locator('main .example').textContent()).toContain('Example (a drawing, not a study image)');
        expect(await page.locator('main .example canvas').count()).toBe(seen.get('instructions') === 1 ? 3 : 2); // 2AFC first, then JND
        await page.keyboard.press('Enter');
        break;
      case 'break':
        await page.keyboard.press('Enter'); // the focused Start / Continue button
        break;
      case 'check':
        // The server's rendering of the steps, at native pixels like the images.
        expect(await page.locator('.steps img').evaluate((img: any) => [img.naturalWidth, img.getBoundingClientRect().width])).toEqual([16 * 48, 16 * 48]);
        await page.fill('#steps', '14');
        await page.keyboard.press('Enter');
        break;
      case 'afc':
        await expect(page.getByRole('button', { name: 'Left image is closer' }).isVisible()).resolves.toBe(true);
        expect(await page.locator('#progress-text').textContent()).toBe(screen.practice ? 'Practice' : `${9 - screen.number + 1} left`);
        if (!screen.practice && !clicked) {
          clicked = true;
          await page.getByRole('button', { name: 'Right image is closer' }).click();
        } else {
          await page.keyboard.press(answered % 2 ? 'ArrowLeft' : '2');
        }
        answered++;
        if (screen.practice) {
          await waitForScreen(page, 'feedback');
          expect(await page.locator('main .feedback').textContent()).toMatch(/^(Correct|Not quite)$/);
          await visit('feedback');
        }
        break;
      case 'jnd':
        await page.keyboard.press(answered % 2 ? 's' : 'D');
        answered++;
        break;
      default:
        throw new Error(`unexpected screen ${screen.screen}`);
    }
    screen = await nextScreen(page, screen.seq);
  }
  await visit('done');
  expect(await page.locator('main h1').textContent()).toBe('Thank you');
  expect([...seen.keys()].sort()).toEqual(['afc', 'break', 'check', 'done', 'feedback', 'instructions', 'jnd']);
  expect(seen.get('instructions')).toBe(2); // one per test type
  expect(seen.get('break')).toBe(2); // 8 items after practice, a break every 3
  expect(problemsOf(page)).toEqual([]);

  const rows = await judgmentRows(studyA.studyId);
  expect(rows).toHaveLength(9); // 1 practice + 4 + 1 sentinel (2AFC) + 3 (JND)
  expect(answered).toBe(9);
  for (const row of rows) {
    expect(row).toMatchObject({ state: 'ANSWERED', judgments: 1 });
    expect(row.responseMs).toBeGreaterThan(0);
    expect(row.display).toMatchObject({ devicePixelRatio: 1, imageWidth: 64, imageHeight: 64, viewportWidth: 1280, viewportHeight: 800 });
  }
  const check = await t.app.pool.query(`SELECT display_check FROM study_raters WHERE study_id = $1 AND rater_id = $2`, [studyA.studyId, studyA.raterId]);
  expect(check.rows[0].display_check).toMatchObject({ stepsShown: 16, stepsDistinguished: 14, devicePixelRatio: 1, viewportWidth: 1280, viewportHeight: 800, colorDepth: 24 });
  expect(check.rows[0].display_check.screenWidth).toBeGreaterThan(0);
});

it('shows JND reference, blank and comparison for 1000, 250 and 1000 ms, to within a frame', async () => {
  const rows = (await judgmentRows(studyA.studyId)).filter((row) => row.kind === 'JND');
  expect(rows).toHaveLength(3);
  for (const { display } of rows) {
    expect(Math.abs(display.shownReferenceMs - 1000)).toBeLessThanOrEqual(ONE_FRAME_MS);
    expect(Math.abs(display.shownBlankMs - 250)).toBeLessThanOrEqual(ONE_FRAME_MS);
    expect(Math.abs(display.shownComparisonMs - 1000)).toBeLessThanOrEqual(ONE_FRAME_MS);
  }
});

let studyB: { studyId: string; raterId: string; link: string };
let contextB: BrowserContext;
let pageB: Page;

it('keeps answers on the device through a network cut and sends each exactly once', async () => {
  studyB = await newStudy('reading B', [afcSetId], { breakEvery: 0, practice: false });
  contextB = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(contextB);
  pageB = await openPage(contextB, studyB.link);
  let screen = await nextScreen(pageB, 0);
  expect(screen.screen).toBe('instructions');
  await pageB.getByRole('button', { name: 'Start' }).click();
  screen = await nextScreen(pageB, screen.seq);
  expect(screen.screen).toBe('check');
  await pageB.fill('#steps', '16');
  await pageB.getByRole('button', { name: 'Continue' }).click();
  screen = await nextScreen(pageB, screen.seq);
  expect(screen).toMatchObject({ screen: 'afc', number: 1 });

  const before = await pageB.locator('main .reference').boundingBox();
  await pageB.route('**/graphql', (route) => route.abort());
  await pageB.keyboard.press('ArrowLeft');
  screen = await nextScreen(pageB, screen.seq); // the next one was loaded ahead: it shows without the server
  expect(screen).toMatchObject({ screen: 'afc', number: 2 });
  await pageB.locator('#network', { hasText: 'Saved on this device' }).waitFor({ state: 'visible' });
  expect(await pageB.locator('main .reference').boundingBox()).toEqual(before); // no layout jump, the note included
  await pageB.keyboard.press('ArrowRight');
  await pageB.waitForFunction(() => (globalThis as any).document.querySelector('main').dataset.ready === 'false');
  await pageB.screenshot({ path: path.join(ARTIFACTS, 'offline.png') });
  expect((await judgmentRows(studyB.studyId)).filter((row) => row.judgments > 0)).toHaveLength(0);
  expect(await outboxSize(pageB)).toBe(2);

  await pageB.unroute('**/graphql');
  screen = await nextScreen(pageB, screen.seq, 60_000); // after the sender's next retry (backoff of at most 8 s)
  expect(screen).toMatchObject({ screen: 'afc', number: 3 });
  await pageB.locator('#network').waitFor({ state: 'hidden' });
  const rows = await judgmentRows(studyB.studyId);
  expect(rows.slice(0, 2).map((row) => [row.answer, row.judgments])).toEqual([['LEFT', 1], ['RIGHT', 1]]);
  expect(rows.slice(2).every((row) => row.judgments === 0)).toBe(true);
  const all = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT presentation_id)::int AS distinct FROM judgments WHERE study_id = $1`, [studyB.studyId]);
  expect(all.rows[0]).toEqual({ n: 2, distinct: 2 });
  expect(problemsOf(pageB).filter((problem) => !/ERR_FAILED|Failed to fetch/.test(problem))).toEqual([]);
});

it('resumes at the next unanswered presentation after the page was closed', async () => {
  let screen = await state(pageB);
  expect(screen).toMatchObject({ screen: 'afc', number: 3 });
  await pageB.keyboard.press('1');
  screen = await nextScreen(pageB, screen.seq);
  expect(screen).toMatchObject({ screen: 'afc', number: 4 });
  await pageB.close(); // the answer to 3 may still be in the outbox: the next page sends it

  const again = await openPage(contextB, `${t.server!.url}/read`);
  screen = await nextScreen(again, 0);
  expect(screen.screen).toBe('instructions');
  await again.keyboard.press('Enter');
  screen = await nextScreen(again, screen.seq); // no display check again: it is done for this study
  expect(screen).toMatchObject({ screen: 'afc', number: 4 });
  const rows = await judgmentRows(studyB.studyId);
  expect(rows.map((row) => row.judgments)).toEqual([1, 1, 1, 0, 0]);
  expect(rows[2].answer).toBe('LEFT');
  pageB = again;

  // Too small a window for the three images at native size: a visible note, gone once it is large again.
  await again.setViewportSize({ width: 200, height: 300 });
  await again.locator('#display-warning', { hasText: 'too small' }).waitFor({ state: 'visible' });
  await again.setViewportSize({ width: 1280, height: 800 });
  await again.locator('#display-warning').waitFor({ state: 'hidden' });
});

it('gives a rater token nothing beyond the rater API, and says what to do without an invitation', async () => {
  const result = (await pageB.evaluate(`fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + localStorage.getItem('medpsim.read.token') },
    body: JSON.stringify({ query: '{ studies { id } }' }) }).then((r) => r.json())`)) as { errors: Array<{ extensions: { code: string } }> };
  expect(result.errors[0].extensions.code).toBe('FORBIDDEN');
  // Another rater's study and open presentations, asked for with B's token, do not exist for them.
  const other = await newStudy('reading X', [afcSetId], { practice: false });
  const asB = (query: string, variables: Record<string, unknown>) =>
    pageB.evaluate(`fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + localStorage.getItem('medpsim.read.token') },
      body: ${JSON.stringify(JSON.stringify({ query, variables }))} }).then((r) => r.json())`) as Promise<{ errors: Array<{ extensions: { code: string } }> }>;
  const { rows: theirs } = await t.app.pool.query(`SELECT id FROM presentations WHERE study_id = $1 ORDER BY sequence LIMIT 1`, [other.studyId]);
  expect((await asB(`query ($s: ID!) { nextPresentation(studyId: $s) { id } }`, { s: other.studyId })).errors[0].extensions.code).toBe('NOT_FOUND');
  const submitted = await asB(`mutation ($i: SubmitJudgmentInput!) { submitJudgment(input: $i) { id } }`, { i: { presentationId: theirs[0].id, answer: 'LEFT', responseMs: 500, clientKey: 'not-mine' } });
  expect(submitted.errors[0].extensions.code).toBe('FORBIDDEN');
  expect(await pageB.evaluate(`fetch('/presentations/${theirs[0].id}/reference.png', { headers: { authorization: 'Bearer ' + localStorage.getItem('medpsim.read.token') } }).then((r) => r.status)`)).toBe(404);
  expect(await pageB.evaluate(`fetch('/studies/${other.studyId}').then((r) => r.status)`)).toBe(200); // the page itself holds no data; its data is refused:
  expect((await asB(`query ($id: ID!) { study(id: $id) { raterQuality { raterId } } }`, { id: other.studyId })).errors[0].extensions.code).toBe('FORBIDDEN');

  const stranger = await browser.newContext();
  contexts.push(stranger);
  const page = await openPage(stranger, `${t.server!.url}/read`);
  await waitForScreen(page, 'message');
  expect(await page.locator('main').textContent()).toContain('invitation link');
  const unknown = await openPage(stranger, `${t.server!.url}/read#invite=AAAAAAAAAAAAAAAAAAAAAA`); // a fresh load, not a same-document hash change
  await unknown.locator('main h1', { hasText: 'This invitation link does not work' }).waitFor();
  expect(await unknown.evaluate(`localStorage.getItem('medpsim.read.token')`)).toBeNull();
  expect(unknown.url()).toBe(`${t.server!.url}/read`);
});

it('shows images at native pixels on a 2x display, and warns when the display scale changes', async () => {
  const token = await pageB.evaluate(`localStorage.getItem('medpsim.read.token')`);
  const retina = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 2 });
  contexts.push(retina);
  await retina.addInitScript(`localStorage.setItem('medpsim.read.token', ${JSON.stringify(token)})`); // the same rater on another screen
  const page = await openPage(retina, `${t.server!.url}/read`);
  let screen = await nextScreen(page, 0);
  expect(screen.screen).toBe('instructions');
  await page.keyboard.press('Enter');
  screen = await nextScreen(page, screen.seq);
  expect(screen).toMatchObject({ screen: 'afc', number: 4 });
  const sizes = await page.locator('main .reference img').evaluate((img: any) => ({ natural: img.naturalWidth, css: img.getBoundingClientRect().width }));
  expect(sizes).toEqual({ natural: 64, css: 32 }); // 64 image pixels on 64 device pixels

  const session = await retina.newCDPSession(page);
  await session.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 1, mobile: false });
  await page.locator('#display-warning', { hasText: 'display scale changed' }).waitFor({ state: 'visible' });
  await session.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 2, mobile: false }); // back to the context's own
  await page.locator('#display-warning').waitFor({ state: 'hidden' });

  await page.keyboard.press('ArrowRight');
  await nextScreen(page, screen.seq);
  await waitForJudgments(studyB.studyId, 4); // the next screen shows before the outbox has sent the answer
  const rows = await judgmentRows(studyB.studyId);
  expect(rows[3].display).toMatchObject({ devicePixelRatio: 2, imageWidth: 64, imageHeight: 64 });
});

it('lists a rater’s studies to choose from, shows a study’s fixed zoom, and offers the next study when one is done', async () => {
  const first = await newStudy('reading C1', [afcSetId], { breakEvery: 0, practice: false, sentinels: false });
  const second = await newStudy('reading C2', [afcSetId], { breakEvery: 0, practice: false, sentinels: false, zoom: 2 }, [first.raterId]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await openPage(context, second.link);
  let screen = await nextScreen(page, 0);
  expect(screen.screen).toBe('studies');
  await page.screenshot({ path: path.join(ARTIFACTS, 'studies.png') });
  expect(await seriousViolations(page)).toEqual([]);
  expect(await page.locator('main li button').allTextContents()).toEqual(['reading C1 (4 left)', 'reading C2 (4 left)']);
  await page.getByRole('button', { name: 'reading C2 (4 left)' }).click();
  screen = await toFirstItem(page);
  expect(screen).toMatchObject({ screen: 'afc', number: 1 });
  // Zoom 2: two device pixels per image pixel, each repeated exactly.
  expect(await page.locator('main .reference img').evaluate((img: any) => ({ natural: img.naturalWidth, css: img.getBoundingClientRect().width, rendering: (globalThis as any).getComputedStyle(img).imageRendering }))).toEqual({ natural: 64, css: 128, rendering: 'pixelated' });
  for (let n = 1; n <= 4; n++) {
    await page.keyboard.press('ArrowLeft');
    screen = await nextScreen(page, screen.seq);
  }
  expect(screen.screen).toBe('done');
  expect((await judgmentRows(second.studyId)).map((row) => row.display.imageWidth)).toEqual([128, 128, 128, 128]);
  await page.getByRole('button', { name: 'Go to the next study' }).click();
  screen = await nextScreen(page, screen.seq); // the only one left opens at once
  expect(screen.screen).toBe('instructions');
  screen = await toFirstItem(page);
  expect(screen).toMatchObject({ screen: 'afc', number: 1 });
  expect(await page.locator('main .reference img').evaluate((img: any) => img.getBoundingClientRect().width)).toBe(64);
  expect(problemsOf(page)).toEqual([]);
});

it('sends queued answers when the browser comes back online, not on a timer', async () => {
  const study = await newStudy('reading D', [afcSetId], { breakEvery: 0, practice: false, sentinels: false });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.clock.install(); // the page's timers, under the test's control from here on
  await page.goto(study.link);
  let screen = await toFirstItem(page);
  await context.setOffline(true);
  await page.keyboard.press('ArrowRight');
  screen = await nextScreen(page, screen.seq);
  expect(screen).toMatchObject({ screen: 'afc', number: 2 });
  await page.locator('#network', { hasText: 'Saved on this device' }).waitFor({ state: 'visible' });
  // Stopped time: the sender's retry timer cannot fire, so only the online event can send the answer. The page's
  // clock runs on between reading it and pausing, and pausing cannot go back: pause a second ahead (a retry that
  // falls due on the way fires once, offline, and fails).
  await page.clock.pauseAt((await page.evaluate('Date.now()')) as number + 1000);
  expect(await outboxSize(page)).toBe(1);
  await context.setOffline(false);
  await waitForJudgments(study.studyId, 1);
  await page.clock.resume();
  await page.locator('#network').waitFor({ state: 'hidden' });
  expect(await outboxSize(page)).toBe(0);
  expect((await judgmentRows(study.studyId)).map((row) => [row.answer, row.judgments])).toEqual([['RIGHT', 1], [null, 0], [null, 0], [null, 0]]);
});

it('keeps answers whose token was refused for their rater’s next sign-in, and never sends them as another rater on the same browser', async () => {
  const a = await newStudy('reading E', [afcSetId], { breakEvery: 0, practice: false, sentinels: false });
  const b = await newStudy('reading F', [afcSetId], { breakEvery: 0, practice: false, sentinels: false });
  const shared = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(shared);
  const pageA = await openPage(shared, a.link);
  let screen = await toFirstItem(pageA);
  await pageA.route('**/graphql', (route) => route.abort());
  await pageA.keyboard.press('ArrowLeft');
  await pageA.locator('#network', { hasText: 'Saved on this device' }).waitFor({ state: 'visible' });
  const tokenA = (await pageA.evaluate(`localStorage.getItem('medpsim.read.token')`)) as string;
  await revokeToken(t.app, tokenA.split('_').slice(0, 2).join('_')); // as an expired token: refused with UNAUTHENTICATED
  await pageA.unroute('**/graphql');
  await pageA.locator('main h1', { hasText: 'Please sign in again' }).waitFor({ timeout: 60_000 }); // at the sender's next retry
  await pageA.screenshot({ path: path.join(ARTIFACTS, 'signed-out.png') });
  expect(await seriousViolations(pageA)).toEqual([]);
  expect(await outboxSize(pageA)).toBe(1);
  await pageA.close();

  // Rater B signs in on the same browser: A's answer waits, B's go through.
  const pageB = await openPage(shared, b.link);
  screen = await toFirstItem(pageB);
  expect(screen).toMatchObject({ screen: 'afc', number: 1 });
  await pageB.keyboard.press('ArrowRight');
  screen = await nextScreen(pageB, screen.seq);
  expect(screen).toMatchObject({ screen: 'afc', number: 2 });
  await waitForJudgments(b.studyId, 1);
  await pageB.locator('#network').waitFor({ state: 'hidden' });
  expect(await outboxSize(pageB)).toBe(1); // A's, still here
  await pageB.close();

  // A gets a new invitation: the kept answer goes with A's new token, once, and A goes on from item 2.
  const again = await inviteRater(t.app, a.raterId);
  const pageA2 = await openPage(shared, linkOf(again.code));
  screen = await toFirstItem(pageA2);
  expect(screen).toMatchObject({ screen: 'afc', number: 2 });
  expect(await outboxSize(pageA2)).toBe(0);
  const rowsA = await judgmentRows(a.studyId);
  expect(rowsA.map((row) => [row.answer, row.judgments])).toEqual([['LEFT', 1], [null, 0], [null, 0], [null, 0]]);
  expect((await judgmentRows(b.studyId)).map((row) => [row.answer, row.judgments])).toEqual([['RIGHT', 1], [null, 0], [null, 0], [null, 0]]);
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM judgments WHERE rater_id = $1`, [b.raterId]);
  expect(rows[0].n).toBe(1);
  for (const page of [pageA2]) expect(problemsOf(page).filter((problem) => !/ERR_FAILED|Failed to fetch/.test(problem))).toEqual([]);
});
