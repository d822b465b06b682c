/**
 * The reading app: a physician opens their invitation link, reads the instructions, does the display check,
 * then judges presentations (2AFC: which outer image is closer to the middle one; JND: same or different),
 * one after the other, as the server hands them out. Plain DOM; it talks to the server through GraphQL and
 * the signed image links it is given.
 */
import * as api from './api';
import { ApiError, NetworkError, type Display, type JudgmentInput, type Presentation, type Study } from './api';
import { enqueue, flush, receiptOf, type SenderEvents } from './outbox';

const main = document.getElementById('app') as HTMLElement;
const networkNote = document.getElementById('network') as HTMLElement;
const displayNote = document.getElementById('display-warning') as HTMLElement;
const progress = document.getElementById('progress') as HTMLElement;
const progressFill = document.getElementById('progress-fill') as HTMLElement;
const progressText = document.getElementById('progress-text') as HTMLElement;

const INSTRUCTIONS: Record<Presentation['kind'], { text: string; keys: string }> = {
  TWO_AFC: {
    text: 'Which of the two outer images looks more like the middle one?',
    keys: 'Press ← or 1 for the left image, → or 2 for the right image, or click the image.',
  },
  JND: {
    text: 'You will see an image, a short blank, then a second image. Were they the same or different?',
    keys: 'After the second image, press S for same or D for different, or use the buttons.',
  },
};
const FEEDBACK_MS = 1200;

// ---- small DOM helpers -------------------------------------------------------------------------------

type Child = Node | string;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function button(label: string, onClick: () => void, attributes: Record<string, string> = {}, ...children: Child[]): HTMLButtonElement {
  const node = el('button', { type: 'button', ...attributes }, ...(children.length ? children : [label]));
  node.addEventListener('click', onClick);
  return node;
}

let keys: Record<string, () => void> = {};
document.addEventListener('keydown', (event) => {
  if (event.repeat || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target instanceof HTMLInputElement) return;
  const action = keys[event.key] ?? keys[event.key.toLowerCase()];
  if (!action) return;
  event.preventDefault();
  action();
});

let screenSeq = 0;

/** Replaces the screen. `ready`: the screen takes input now (tests and assistive tech can tell). */
function show(name: string, nodes: Child[], options: { ready?: boolean; stage?: boolean; focus?: HTMLElement; keys?: Record<string, () => void> } = {}): void {
  keys = options.keys ?? {};
  main.replaceChildren(...nodes);
  main.classList.toggle('stage', options.stage ?? false);
  main.dataset.screen = name;
  main.dataset.seq = String(++screenSeq);
  main.dataset.ready = String(options.ready ?? true);
  delete main.dataset.number;
  (options.focus ?? main).focus({ preventScroll: true });
}

function setReady(ready: boolean): void {
  main.dataset.ready = String(ready);
}

function message(title: string, text: string, ...extra: Child[]): void {
  show('message', [el('h1', {}, title), el('p', {}, text), ...extra]);
}

const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // outside a secure context (plain http)
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// ---- network ---------------------------------------------------------------------------------------

function networkState(text: string | null): void {
  networkNote.hidden = text === null;
  networkNote.textContent = text ?? '';
}

const sender: SenderEvents = {
  pending: (waiting) => networkState(waiting ? 'Saved on this device, sending…' : null),
  unauthenticated: () => signedOut(),
};

function signedOut(): void {
  api.storeSignIn(null);
  message('Please sign in again', 'This device is no longer signed in. Ask the study administrator for a new invitation link and open it.');
}

/** A query that is retried (with backoff) while the server cannot be reached. */
async function retrying<T>(query: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await query();
      if (attempt > 0) networkState(null);
      return result;
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      networkState('Cannot reach the server, retrying…');
      await Promise.race([sleep(Math.min(500 * 2 ** attempt, 8000)), new Promise((resolve) => window.addEventListener('online', resolve, { once: true }))]);
    }
  }
}

/** Sends the outbox until it is empty; only then is the next presentation asked for. */
const sendAll = () => flush(sender);

// ---- images ----------------------------------------------------------------------------------------

const loading = new Map<string, Promise<HTMLImageElement>>();

function load(url: string): Promise<HTMLImageElement> {
  let image = loading.get(url);
  if (!image) {
    const img = new Image();
    img.alt = '';
    img.decoding = 'async';
    img.src = url;
    image = img.decode().then(() => img);
    image.catch(() => loading.delete(url));
    loading.set(url, image);
  }
  return image;
}

/** Starts loading (and decoding) a presentation's images ahead, so that it appears at once. */
function prefetch(presentation: Presentation | null): void {
  if (!presentation) return;
  for (const url of Object.values(presentation.images)) if (url) load(url).catch(() => undefined);
}

function take(url: string | null): Promise<HTMLImageElement> {
  if (!url) return Promise.reject(new Error('image missing'));
  const image = load(url);
  loading.delete(url);
  return image;
}

/** CSS px of an image dimension at `zoom` device pixels per image pixel. */
function cssPixels(imagePixels: number, zoom: number): number {
  return (imagePixels * zoom) / (window.devicePixelRatio || 1);
}

/**
 * A fixed box at `zoom` device pixels per image pixel (1: native pixels). A whole-number zoom repeats each
 * pixel exactly (no interpolation); any other zoom is interpolated by the browser.
 */
function box(images: HTMLImageElement[], zoom = 1): HTMLDivElement {
  const node = el('div', { class: 'box' }, ...images);
  node.style.width = `${cssPixels(images[0].naturalWidth, zoom)}px`;
  node.style.height = `${cssPixels(images[0].naturalHeight, zoom)}px`;
  node.classList.toggle('pixelated', Number.isInteger(zoom) && zoom > 1);
  return node;
}

function displayOf(image: HTMLImageElement): Display {
  const ratio = window.devicePixelRatio || 1;
  const rect = image.getBoundingClientRect();
  return {
    viewportWidth: window.innerWidth,
    viewportHeight: window.innerHeight,
    imageWidth: Math.round(rect.width * ratio),
    imageHeight: Math.round(rect.height * ratio),
    devicePixelRatio: ratio,
  };
}

// ---- display warnings ------------------------------------------------------------------------------

const startRatio = window.devicePixelRatio || 1;
let needed: { width: number; height: number } | null = null;

function checkDisplay(): void {
  const notes: string[] = [];
  if ((window.devicePixelRatio || 1) !== startRatio) {
    notes.push('The display scale changed (browser zoom, or the window moved to another screen): set the zoom back to 100% (Ctrl+0) so that images show at their native pixels.');
  }
  if (needed && (window.innerWidth < needed.width || window.innerHeight < needed.height)) {
    notes.push('The window is too small to show the images at their native size: please make it larger.');
  }
  displayNote.hidden = notes.length === 0;
  displayNote.textContent = notes.join(' ');
}

let ratioQuery: MediaQueryList | null = null; // held: a MediaQueryList nobody references is collected, with its listener

function watchRatio(): void {
  ratioQuery = window.matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
  ratioQuery.addEventListener('change', () => {
    checkDisplay();
    watchRatio();
  }, { once: true });
}
watchRatio();
window.addEventListener('resize', checkDisplay);
// Not every change fires the media query (emulated scales, some platforms): look once a second too.
let lastRatio = window.devicePixelRatio || 1;
setInterval(() => {
  const ratio = window.devicePixelRatio || 1;
  if (ratio !== lastRatio) checkDisplay();
  lastRatio = ratio;
}, 1000);

function setProgress(presentation: Presentation): void {
  progress.hidden = false;
  const share = Math.round(((presentation.number - 1) / presentation.total) * 100);
  progressFill.style.width = `${share}%`;
  progress.setAttribute('aria-valuenow', String(share));
  const left = presentation.total - presentation.number + 1;
  progressText.textContent = presentation.practice ? 'Practice' : `${left} left`;
}

// ---- screens ---------------------------------------------------------------------------------------

// ---- the instructions' example (an illustration drawn here, never a study image) ---------------------

const EXAMPLE_PX = 112;

/** A smooth synthetic pattern: a bright oval field with two darker lobes, like a chest film in outline. */
function examplePattern(): HTMLCanvasElement {
  const canvas = el('canvas');
  canvas.width = EXAMPLE_PX;
  canvas.height = EXAMPLE_PX;
  const context = canvas.getContext('2d')!;
  const glow = context.createRadialGradient(56, 56, 8, 56, 56, 70);
  glow.addColorStop(0, '#d8d8d8');
  glow.addColorStop(1, '#303030');
  context.fillStyle = glow;
  context.fillRect(0, 0, EXAMPLE_PX, EXAMPLE_PX);
  context.fillStyle = '#5a5a5a';
  for (const x of [36, 76]) {
    context.beginPath();
    context.ellipse(x, 58, 17, 34, 0, 0, 2 * Math.PI);
    context.fill();
  }
  return canvas;
}

/** The pattern changed: blurred by `blur` px, with grain of amplitude `noise` (0..255). Seeded, so always the same. */
function exampleChanged(blur: number, noise: number): HTMLCanvasElement {
  const canvas = el('canvas');
  canvas.width = EXAMPLE_PX;
  canvas.height = EXAMPLE_PX;
  const context = canvas.getContext('2d')!;
  context.filter = blur > 0 ? `blur(${blur}px)` : 'none';
  context.drawImage(examplePattern(), 0, 0);
  context.filter = 'none';
  if (noise > 0) {
    const pixels = context.getImageData(0, 0, EXAMPLE_PX, EXAMPLE_PX);
    let seed = 12345;
    for (let i = 0; i < pixels.data.length; i += 4) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const grain = ((seed >>> 16) / 65536 - 0.5) * 2 * noise;
      for (let c = 0; c < 3; c++) pixels.data[i + c] = Math.max(0, Math.min(255, pixels.data[i + c] + grain));
    }
    context.putImageData(pixels, 0, 0);
  }
  return canvas;
}

function figure(canvas: HTMLCanvasElement, caption: string): HTMLElement {
  canvas.setAttribute('aria-hidden', 'true');
  return el('figure', { class: 'example-image' }, canvas, el('figcaption', { class: 'caption' }, caption));
}

function example(kind: Presentation['kind']): HTMLElement {
  const [images, answer] =
    kind === 'TWO_AFC'
      ? [[figure(exampleChanged(1.2, 0), 'left'), figure(examplePattern(), 'middle'), figure(exampleChanged(0, 40), 'right')],
         'Example (a drawing, not a study image): the left image is only slightly blurred, the right one is very grainy, so the left one is closer to the middle: press ← or 1.']
      : [[figure(examplePattern(), 'first'), figure(exampleChanged(1.2, 0), 'then, after a blank')],
         'Example (a drawing, not a study image): the second image is slightly blurred, so they are different: press D. Had they been identical, you would press S.'];
  return el('div', { class: 'example', role: 'group', 'aria-label': 'Example' }, el('div', { class: 'row' }, ...images), el('p', { class: 'keys' }, answer));
}

function instructions(kind: Presentation['kind'], practice: boolean): Promise<void> {
  return new Promise((resolve) => {
    const start = button('Start', () => resolve(), { class: 'primary' });
    const { text, keys: keyHelp } = INSTRUCTIONS[kind];
    show('instructions', [
      el('h1', {}, 'Instructions'),
      el('p', { class: 'lead' }, text),
      el('p', { class: 'keys' }, keyHelp),
      example(kind),
      el('p', {}, practice ? 'A few practice items come first: after each you will see whether your answer was right.' : 'Answer as well as you can; there is no time limit, but go with your first impression.'),
      el('div', { class: 'actions' }, start),
    ], { focus: start });
  });
}

function zoomEstimate(): number | null {
  const zoom = window.outerWidth / window.innerWidth;
  return Number.isFinite(zoom) && zoom > 0.1 && zoom < 16 ? Math.round(zoom * 100) / 100 : null;
}

async function displayCheck(study: Study): Promise<void> {
  const steps = study.displayCheckSteps;
  const pattern = await retrying(() => take(study.displayCheckImage).catch((error) => Promise.reject(new NetworkError(String(error)))));
  pattern.alt = `${steps} grey steps from black to white, in the study's display window`;
  const image = box([pattern]);
  image.classList.add('steps');
  return new Promise((resolve) => {
    const ratio = window.devicePixelRatio || 1;
    const input = el('input', { id: 'steps', type: 'number', min: '0', max: String(steps), step: '1', inputmode: 'numeric', 'aria-describedby': 'steps-help' });
    const error = el('p', { class: 'hint', role: 'alert' });
    const submit = async () => {
      const value = Number(input.value);
      if (input.value.trim() === '' || !Number.isInteger(value) || value < 0 || value > steps) {
        error.textContent = `Please enter a whole number from 0 to ${steps}.`;
        input.focus();
        return;
      }
      go.disabled = true;
      const check = {
        stepsShown: steps,
        stepsDistinguished: value,
        screenWidth: window.screen.width,
        screenHeight: window.screen.height,
        devicePixelRatio: ratio,
        zoom: zoomEstimate(),
        colorDepth: window.screen.colorDepth,
        viewportWidth: window.innerWidth,
        viewportHeight: window.innerHeight,
      };
      try {
        await retrying(() => api.recordDisplayCheck(study.id, check as api.DisplayCheck));
        resolve();
      } catch (failure) {
        go.disabled = false;
        error.textContent = `The check could not be saved: ${(failure as Error).message}`;
      }
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') void submit();
    });
    const go = button('Continue', () => void submit());
    show('check', [
      el('h1', {}, 'Display check'),
      el('p', {}, `Below are ${steps} grey steps, from black to white, shown as the study's images will be. Count how many neighbouring steps you can tell apart (a step that looks the same as its neighbour does not count).`),
      image,
      el('label', { for: 'steps' }, `How many different steps can you see (0 to ${steps})?`),
      el('p', { id: 'steps-help', class: 'keys' }, 'Type the number, then press Enter.'),
      input,
      error,
      el('div', { class: 'actions' }, go),
    ], { focus: input });
  });
}

function pause(text: string, title: string, name: string): Promise<void> {
  return new Promise((resolve) => {
    const go = button('Continue', () => resolve());
    show(name, [el('h1', {}, title), el('p', {}, text), el('div', { class: 'actions' }, go)], { focus: go });
  });
}

async function feedback(correct: boolean): Promise<void> {
  show('feedback', [el('p', { class: `feedback ${correct ? 'good' : 'bad'}`, role: 'status' }, correct ? 'Correct' : 'Not quite')], { ready: false });
  await sleep(FEEDBACK_MS);
}

async function twoAfc(presentation: Presentation): Promise<JudgmentInput> {
  const [reference, left, right] = await Promise.all([take(presentation.images.reference), take(presentation.images.left), take(presentation.images.right)]);
  const zoom = presentation.zoom;
  needed = { width: 3 * (cssPixels(reference.naturalWidth, zoom) + 20) + 2 * 24 + 32, height: cssPixels(reference.naturalHeight, zoom) + 220 };
  checkDisplay();
  return new Promise((resolve) => {
    let shownAt = 0;
    let answered = false;
    const answer = (side: 'LEFT' | 'RIGHT') => {
      if (!shownAt || answered) return;
      answered = true;
      const responseMs = Math.max(1, Math.round(performance.now() - shownAt));
      keys = {};
      setReady(false);
      hint.textContent = 'Saving…';
      resolve({ presentationId: presentation.id, answer: side, responseMs, clientKey: newKey(), display: displayOf(reference) });
    };
    const leftButton = button('', () => answer('LEFT'), { class: 'candidate', 'aria-label': 'Left image is closer' }, box([left], zoom));
    const rightButton = button('', () => answer('RIGHT'), { class: 'candidate', 'aria-label': 'Right image is closer' }, box([right], zoom));
    const middle = el('div', { class: 'reference', role: 'img', 'aria-label': 'Reference image' }, box([reference], zoom));
    const hint = el('p', { class: 'hint' }, INSTRUCTIONS.TWO_AFC.keys);
    show('afc', [
      el('h1', { class: 'center' }, INSTRUCTIONS.TWO_AFC.text),
      el('div', { class: 'row' }, leftButton, middle, rightButton),
      hint,
    ], { stage: true, ready: false, keys: { ArrowLeft: () => answer('LEFT'), '1': () => answer('LEFT'), ArrowRight: () => answer('RIGHT'), '2': () => answer('RIGHT') } });
    main.dataset.number = String(presentation.number);
    main.dataset.practice = String(presentation.practice);
    // The frame that first paints the images starts the clock.
    requestAnimationFrame((time) => {
      shownAt = time;
      setReady(true);
    });
  });
}

/** Waits frame by frame until `ms` have passed since `start`; returns the timestamp of the frame that ends it. */
async function framesUntil(start: number, ms: number): Promise<number> {
  let last = start;
  let interval = 1000 / 60;
  for (;;) {
    const time = await frame();
    if (time > last) interval = Math.min(time - last, 50);
    last = time;
    // The frame at `time` shows the next state: switch in the frame nearest the target.
    if (time - start + interval / 2 >= ms) return time;
  }
}

async function jnd(presentation: Presentation): Promise<JudgmentInput> {
  const timing = presentation.jnd ?? { referenceMs: 1000, blankMs: 250, distortedMs: 1000 };
  const [reference, comparison] = await Promise.all([take(presentation.images.reference), take(presentation.images.comparison)]);
  reference.classList.add('off');
  comparison.classList.add('off');
  needed = { width: cssPixels(reference.naturalWidth, presentation.zoom) + 64, height: cssPixels(reference.naturalHeight, presentation.zoom) + 260 };
  checkDisplay();
  const stage = box([reference, comparison], presentation.zoom);
  stage.setAttribute('role', 'img');
  stage.setAttribute('aria-label', 'The two images, one after the other');
  const status = el('p', { class: 'hint', 'aria-live': 'polite' }, 'Watch the middle of the screen.');
  let answer: (said: 'SAME' | 'DIFFERENT') => void = () => undefined;
  const same = button('Same', () => answer('SAME'));
  const different = button('Different', () => answer('DIFFERENT'));
  const answers = el('div', { class: 'actions answers waiting' }, same, different);
  same.disabled = true;
  different.disabled = true;
  show('jnd', [el('h1', { class: 'center' }, 'Same or different?'), el('div', { class: 'row' }, stage), status, answers], { stage: true, ready: false });
  main.dataset.number = String(presentation.number);
  main.dataset.practice = String(presentation.practice);

  await frame(); // laid out, nothing shown yet
  const referenceOn = await frame();
  reference.classList.remove('off');
  const blankOn = await framesUntil(referenceOn, timing.referenceMs);
  reference.classList.add('off');
  const comparisonOn = await framesUntil(blankOn, timing.blankMs);
  comparison.classList.remove('off');
  const comparisonOff = await framesUntil(comparisonOn, timing.distortedMs);
  comparison.classList.add('off');

  const measured = displayOf(reference); // hidden (visibility) but laid out in its box
  return new Promise((resolve) => {
    let answered = false;
    answer = (said) => {
      if (answered) return;
      answered = true;
      const responseMs = Math.max(1, Math.round(performance.now() - comparisonOff));
      keys = {};
      same.disabled = true;
      different.disabled = true;
      setReady(false);
      status.textContent = 'Saving…';
      resolve({
        presentationId: presentation.id,
        answer: said,
        responseMs,
        clientKey: newKey(),
        display: {
          ...measured,
          shownReferenceMs: Math.round((blankOn - referenceOn) * 10) / 10,
          shownBlankMs: Math.round((comparisonOn - blankOn) * 10) / 10,
          shownComparisonMs: Math.round((comparisonOff - comparisonOn) * 10) / 10,
        },
      });
    };
    same.disabled = false;
    different.disabled = false;
    answers.classList.remove('waiting');
    status.textContent = 'Were they the same or different? Press S or D.';
    keys = { s: () => answer('SAME'), d: () => answer('DIFFERENT') };
    setReady(true);
  });
}

// ---- the flow --------------------------------------------------------------------------------------

async function done(study: Study): Promise<void> {
  progress.hidden = true;
  progressText.textContent = '';
  needed = null;
  checkDisplay();
  const others = (await retrying(api.myStudies)).filter((other) => other.id !== study.id && other.open && other.answered < other.total);
  show('done', [
    el('h1', {}, 'Thank you'),
    el('p', {}, `You have finished “${study.name}”. Thank you for your judgments.`),
    ...(others.length ? [el('div', { class: 'actions' }, button('Go to the next study', () => void chooseStudy()))] : [el('p', {}, 'You can close this page.')]),
  ], { focus: main.querySelector('button') ?? undefined });
}

async function runStudy(study: Study): Promise<void> {
  let presentation = await retrying(() => api.nextPresentation(study.id));
  if (!presentation) return done(study);
  const explained = new Set<string>();
  let checked = study.displayChecked;
  let after: Promise<Presentation | null | undefined> | null = null;
  while (presentation) {
    if (!explained.has(presentation.kind)) {
      await instructions(presentation.kind, presentation.practice);
      explained.add(presentation.kind);
    }
    if (!checked) {
      await displayCheck(study);
      checked = true;
    }
    if (presentation.breakBefore) await pause('Time for a short break. Rest your eyes, then continue when you are ready.', 'Break', 'break');
    prefetch(presentation.upcoming);
    setProgress(presentation);
    let input: JudgmentInput;
    try {
      input = presentation.kind === 'JND' ? await jnd(presentation) : await twoAfc(presentation);
    } catch (error) {
      // An image did not load (its link expired, or the network): ask again, with fresh links.
      console.warn('medpsim: presentation not shown', error);
      networkState('Cannot load the images, retrying…');
      await sleep(1000);
      await sendAll();
      presentation = await retrying(() => api.nextPresentation(study.id));
      networkState(null);
      continue;
    }
    await enqueue(input);
    const sending = sendAll();
    if (presentation.practice) {
      await sending;
      const receipt = receiptOf(input.clientKey);
      if (receipt && receipt.correct !== null) await feedback(receipt.correct);
    }
    // The next one: the upcoming the server named, or (for one shown that way) the one the server named
    // after it once that answer was sent.
    const upcoming: Presentation | null | undefined = presentation.upcoming ?? (after ? await after : undefined);
    after = null;
    if (!presentation.practice && upcoming && !upcoming.practice) {
      // Shown at once, its images loaded ahead, while the answer is sent. Once the outbox is empty the
      // server is asked what follows it (it decides what comes next), and those images start loading.
      const shown = upcoming;
      after = sending
        .then(() => api.nextPresentation(study.id))
        .then((fresh) => {
          if (!fresh || fresh.id !== shown.id) return undefined; // something changed meanwhile: ask again later
          prefetch(fresh.upcoming);
          return fresh.upcoming;
        })
        .catch(() => undefined);
      presentation = { ...shown, upcoming: null };
      continue;
    }
    await sendAll();
    presentation = await retrying(() => api.nextPresentation(study.id));
  }
  return done(study);
}

async function chooseStudy(): Promise<void> {
  const studies = (await retrying(api.myStudies)).filter((study) => study.open && study.answered < study.total);
  if (studies.length === 0) {
    message('Nothing to read', 'There is no study waiting for you at the moment. Thank you!');
    return;
  }
  if (studies.length === 1) return runStudy(studies[0]);
  await new Promise<void>((resolve) => {
    const items = studies.map((study) =>
      el('li', {}, button(`${study.name} (${study.total - study.answered} left)`, () => {
        resolve();
        void runStudy(study).catch(failed);
      })),
    );
    show('studies', [el('h1', {}, 'Choose a study'), el('ul', { class: 'studies' }, ...items)], { focus: items[0].firstElementChild as HTMLElement });
  });
}

function inviteCode(): string | null {
  const match = /(?:^#|&)invite=([^&]+)/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

async function start(): Promise<void> {
  const code = inviteCode();
  if (code) {
    try {
      api.storeSignIn(await retrying(() => api.acceptInvitation(code)));
    } catch (error) {
      // A used code with a token already here is this device's own invitation, opened again.
      if (!(error instanceof ApiError) || !api.storedToken()) {
        history.replaceState(null, '', window.location.pathname + window.location.search);
        message('This invitation link does not work', `${(error as Error).message}.`);
        return;
      }
    }
    history.replaceState(null, '', window.location.pathname + window.location.search); // the code is one-time
  }
  if (!api.storedToken()) {
    message('Welcome', 'To take part, please open the invitation link you were sent (it signs this browser in).');
    return;
  }
  await sendAll(); // answers left from last time go first
  await chooseStudy();
}

function failed(error: unknown): void {
  if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') return signedOut();
  console.error(error);
  message('Something went wrong', error instanceof Error ? error.message : String(error), el('div', { class: 'actions' }, button('Reload', () => window.location.reload())));
}

start().catch(failed);
