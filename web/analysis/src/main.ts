/**
 * The analysis page (/analysis/<study id>) for analysts and admins: the study's report, rendered by the
 * server (GET /analysis/<id>/report.html, charts as SVG, no scripts), shown in the page, with the options
 * to recompute it, the report to download and each chart's data as CSV or JSON. Everything is fetched with
 * the user's own token, kept for this browser tab (sessionStorage) and never in the URL; downloads go
 * through Blob URLs, since a link cannot carry the token.
 */
import { askForToken as askForTokenOn, element, TOKEN_KEY } from '../../shared/staff-page';


const root = document.getElementById('app')!;

interface Options {
  includeSimulated: boolean;
  twoWay: boolean;
  resamples: number;
  seed: number;
}

const DEFAULTS: Options = { includeSimulated: false, twoWay: false, resamples: 1000, seed: 1 };

class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

function studyId(): string | null {
  const match = /^\/analysis\/([0-9a-fA-F-]{36})\/?$/.exec(location.pathname);
  return match ? match[1] : null;
}

function query(options: Options, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    includeSimulated: String(options.includeSimulated),
    twoWay: String(options.twoWay),
    resamples: String(options.resamples),
    seed: String(options.seed),
    ...extra,
  });
  return params.toString();
}

/** GET with the token; a refusal becomes an HttpError with the server's message ({ error: { code, message } }). */
async function get(path: string, token: string): Promise<Response> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  let code: string | null = null;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    message = body.error?.message ?? message;
    code = body.error?.code ?? null;
  } catch {
    // not JSON: keep the status line
  }
  throw new HttpError(message, response.status, code);
}

function fileNameOf(response: Response, fallback: string): string {
  const match = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
  return match ? match[1] : fallback;
}

/** Fetches with the token and saves the answer as a file. */
async function download(path: string, token: string, fallbackName: string): Promise<void> {
  const response = await get(path, token);
  const url = URL.createObjectURL(await response.blob());
  const link = element('a', undefined, { href: url, download: fileNameOf(response, fallbackName) });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function askForToken(message: string | null): void {
  askForTokenOn(root, { title: 'Study analysis', roles: 'ANALYST or ADMIN', button: 'Show the analysis' }, message, () => void start());
}

function checkbox(id: string, text: string, checked: boolean): [HTMLLabelElement, HTMLInputElement] {
  const input = element('input', undefined, { id, type: 'checkbox' });
  input.checked = checked;
  const label = element('label', undefined, { for: id });
  label.append(input, text);
  return [label, input];
}

function numberField(id: string, text: string, value: number, min: number, max: number): [HTMLLabelElement, HTMLInputElement] {
  const input = element('input', undefined, { id, type: 'number', min: String(min), max: String(max), step: '1', required: '' });
  input.value = String(value);
  const label = element('label', undefined, { for: id });
  label.append(text, input);
  return [label, input];
}

/** Shows a refusal: a bad or unpermitted token asks for another; anything else is said where the report goes. */
function showError(error: unknown, status: HTMLElement): void {
  const { code, message } = error as HttpError;
  if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
    sessionStorage.removeItem(TOKEN_KEY);
    askForToken(code === 'FORBIDDEN' ? `This token may not see analyses (ANALYST or ADMIN only): ${message}` : 'This token is not valid.');
    return;
  }
  status.replaceChildren(element('span', message, { class: 'error', role: 'alert' }));
}

/** CSV and JSON buttons under each drawn chart. */
function addChartDownloads(report: HTMLElement, id: string, options: Options, token: string, status: HTMLElement): void {
  for (const figure of report.querySelectorAll<HTMLElement>('figure.chart[data-chart]:not(.unavailable)')) {
    const chart = figure.dataset.chart!;
    const title = figure.dataset.title ?? chart;
    const buttons = element('p', undefined, { class: 'chart-downloads' });
    for (const format of ['csv', 'json'] as const) {
      const button = element('button', `Data as ${format.toUpperCase()}`, { type: 'button', 'aria-label': `Data as ${format.toUpperCase()}: download the rows of “${title}”`, 'data-format': format });
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await download(`/analysis/${id}/charts/${chart}.${format}?${query(options)}`, token, `${chart}.${format}`);
        } catch (error) {
          showError(error, status);
        } finally {
          button.disabled = false;
        }
      });
      buttons.append(button);
    }
    figure.append(buttons);
  }
}

/** Requests made so far: only the latest one's answer is shown (an earlier one may finish after it). */
let requests = 0;

async function showReport(id: string, token: string, options: Options, slot: HTMLElement, status: HTMLElement): Promise<void> {
  const ticket = ++requests;
  status.textContent = 'Computing the analysis…';
  slot.setAttribute('aria-busy', 'true');
  try {
    const response = await get(`/analysis/${id}/report.html?${query(options)}`, token);
    const text = await response.text();
    if (ticket !== requests) return;
    // The report is a whole document without scripts; the page takes its article (styled by report.css).
    const parsed = new DOMParser().parseFromString(text, 'text/html');
    const article = parsed.querySelector<HTMLElement>('article.report');
    if (!article) throw new HttpError('the server sent no report', 500, null);
    const report = document.importNode(article, true);
    addChartDownloads(report, id, options, token, status);
    slot.replaceChildren(report);
    document.title = parsed.title || document.title;
    status.textContent = '';
  } catch (error) {
    if (ticket === requests) showError(error, status);
  } finally {
    if (ticket === requests) slot.removeAttribute('aria-busy');
  }
}

function render(id: string, token: string): void {
  let options = { ...DEFAULTS };
  root.replaceChildren();
  root.append(element('p', 'medpsim · study analysis', { class: 'app-name' }));
  const form = element('form', undefined, { class: 'options' });
  const fieldset = element('fieldset');
  fieldset.append(element('legend', 'Analysis options'));
  const [simulatedLabel, simulated] = checkbox('include-simulated', 'Include simulated raters', options.includeSimulated);
  const [twoWayLabel, twoWay] = checkbox('two-way', 'Two-way bootstrap (raters and items)', options.twoWay);
  const [resamplesLabel, resamples] = numberField('resamples', 'Bootstrap resamples', options.resamples, 0, 10_000);
  const [seedLabel, seed] = numberField('seed', 'Seed', options.seed, 0, 2 ** 31 - 1);
  fieldset.append(simulatedLabel, twoWayLabel, resamplesLabel, seedLabel);
  const actions = element('div', undefined, { class: 'actions' });
  const update = element('button', 'Show the analysis', { type: 'submit' });
  const downloadReport = element('button', 'Download report', { type: 'button' });
  actions.append(update, downloadReport);
  form.append(fieldset, actions);
  const status = element('p', undefined, { class: 'status', role: 'status' });
  const slot = element('div', undefined, { id: 'report-slot' });
  root.append(form, status, slot);

  const read = (): Options => ({ includeSimulated: simulated.checked, twoWay: twoWay.checked, resamples: Number(resamples.value), seed: Number(seed.value) });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    options = read();
    update.disabled = true;
    await showReport(id, token, options, slot, status);
    update.disabled = false;
  });
  downloadReport.addEventListener('click', async () => {
    downloadReport.disabled = true;
    status.textContent = 'Preparing the report…';
    try {
      await download(`/analysis/${id}/report.html?${query(read(), { download: '1' })}`, token, 'analysis.html');
      status.textContent = '';
    } catch (error) {
      showError(error, status);
    } finally {
      downloadReport.disabled = false;
    }
  });
  void showReport(id, token, options, slot, status);
}

async function start(): Promise<void> {
  const id = studyId();
  if (!id) {
    root.replaceChildren(element('p', 'No such analysis page: open /analysis/<study id>.', { class: 'error' }));
    return;
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return askForToken(null);
  render(id, token);
}

void start();
