/**
 * `medpsim simulate-panel STUDY`: simulated raters answer a study's presentations from a stated observer
 * model, so that downstream figures can be checked against a known answer. A client like any other: it
 * works only through the public API (a PIPELINE or ADMIN token gets the raters' RATER tokens; each rater
 * then asks for its next presentation, fetches its signed 8-bit images and submits an answer).
 *
 * The observer: the distance between two displayed images is the root-mean-square (l2) or mean absolute
 * (mae) difference of their 8-bit pixels scaled to [0, 1]. 2AFC: LEFT when d(ref, left) - d(ref, right)
 * + N(0, noise) < 0, else RIGHT; JND: SAME when d(ref, comparison) + N(0, noise) < threshold. With
 * probability lapse (drawn first) the answer is a fair coin instead. Response times are log-normal (median,
 * log-sd), at least 150 ms; nothing waits, the time is only reported. Every draw is a pure function of the
 * seed, the rater's index (its place among the study's simulated raters, in the order they joined) and
 * the presentation's number, so a rerun after an interruption answers the rest as the first run would have.
 */
import type { Command } from 'commander';
import sharp from 'sharp';
import { hashU32, RandomStream } from '../synth/random';
import { ApiError, request, serverOf, serverOptions, type Server } from './client';

export type Metric = 'l2' | 'mae';
export type PresentationKind = 'TWO_AFC' | 'JND';
export type Answer = 'LEFT' | 'RIGHT' | 'SAME' | 'DIFFERENT';

export interface ObserverParams {
  metric: Metric;
  /** Standard deviation of the Gaussian decision noise (on the distance difference in 2AFC, on the distance in JND). */
  noise: number;
  /** Probability of answering with a fair coin instead. */
  lapse: number;
  /** JND: SAME when d + noise < this. */
  jndThreshold: number;
  rtMedianMs: number;
  /** Log-sd of the response time. */
  rtSpread: number;
  seed: number;
}

export const OBSERVER_DEFAULTS: ObserverParams = {
  metric: 'l2',
  noise: 0.02,
  lapse: 0.05,
  jndThreshold: 0.02,
  rtMedianMs: 2500,
  rtSpread: 0.35,
  seed: 1,
};

export const MIN_RESPONSE_MS = 150;

/** 2AFC: the reference's distance to the left and the right image; JND: to the comparison. */
export interface Distances {
  left?: number;
  right?: number;
  comparison?: number;
}

/** The draws `decide` and `responseTime` take: RandomStream is one. */
export interface Draws {
  uniform(): number;
  normal(mean?: number, sd?: number): number;
}

/** The observer model's answer to one presentation (lapse drawn first, then the noise). */
export function decide(kind: PresentationKind, distances: Distances, params: Pick<ObserverParams, 'noise' | 'lapse' | 'jndThreshold'>, random: Draws): Answer {
  const lapsed = random.uniform() < params.lapse;
  if (kind === 'TWO_AFC') {
    const { left, right } = distances;
    if (left === undefined || right === undefined) throw new Error('a 2AFC decision needs the left and right distances');
    if (lapsed) return random.uniform() < 0.5 ? 'LEFT' : 'RIGHT';
    return left - right + noiseDraw(params.noise, random) < 0 ? 'LEFT' : 'RIGHT';
  }
  const { comparison } = distances;
  if (comparison === undefined) throw new Error('a JND decision needs the comparison distance');
  if (lapsed) return random.uniform() < 0.5 ? 'SAME' : 'DIFFERENT';
  return comparison + noiseDraw(params.noise, random) < params.jndThreshold ? 'SAME' : 'DIFFERENT';
}

function noiseDraw(sd: number, random: Draws): number {
  return sd > 0 ? random.normal(0, sd) : 0;
}

/** A log-normal response time with the given median and log-sd, rounded, at least 150 ms. */
export function responseTime(params: Pick<ObserverParams, 'rtMedianMs' | 'rtSpread'>, random: Draws): number {
  const z = random.normal(0, 1);
  return Math.max(MIN_RESPONSE_MS, Math.round(params.rtMedianMs * Math.exp(params.rtSpread * z)));
}

const DRAW_STREAMS = { decision: 0x5344, time: 0x5254 } as const;

/**
 * The draws for one presentation of one rater: a pure function of (seed, rater index, presentation number,
 * purpose). The decision and the response time use streams of their own.
 */
export function drawsFor(seed: number, raterIndex: number, presentationNumber: number, purpose: keyof typeof DRAW_STREAMS): RandomStream {
  return new RandomStream(seed, hashU32(raterIndex, DRAW_STREAMS[purpose], presentationNumber));
}

/** The short description of the observer stored with new simulated raters, e.g. `l2 noise=0.02 lapse=0.05 jnd=0.02 rt=2500ms/0.35 seed=1`. */
export function describeObserver(params: ObserverParams): string {
  return `${params.metric} noise=${params.noise} lapse=${params.lapse} jnd=${params.jndThreshold} rt=${params.rtMedianMs}ms/${params.rtSpread} seed=${params.seed}`;
}

export interface Pixels {
  data: Buffer | Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * The distance between two displayed 8-bit images, pixels scaled to [0, 1]: RMS (l2) or mean absolute (mae)
 * difference over all colour channels (alpha ignored; a grey image against an RGB one counts as grey in
 * each channel). Sums are of integers, so equal differences give exactly equal distances.
 */
export function imageDistance(a: Pixels, b: Pixels, metric: Metric): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`images of different sizes: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  const colours = (image: Pixels) => (image.channels >= 3 ? 3 : 1);
  const ca = colours(a);
  const cb = colours(b);
  const channels = Math.max(ca, cb);
  const pixels = a.width * a.height;
  let sum = 0;
  for (let i = 0; i < pixels; i++) {
    const ia = i * a.channels;
    const ib = i * b.channels;
    for (let k = 0; k < channels; k++) {
      const difference = a.data[ia + (ca === 1 ? 0 : k)] - b.data[ib + (cb === 1 ? 0 : k)];
      sum += metric === 'l2' ? difference * difference : Math.abs(difference);
    }
  }
  const mean = sum / (pixels * channels);
  return metric === 'l2' ? Math.sqrt(mean) / 255 : mean / 255;
}

export async function decodePng(bytes: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

// ---------------------------------------------------------------------------------------------------------
// The client

interface RaterToken {
  raterId: string;
  pseudonym: string;
  token: string;
}

interface Presentation {
  id: string;
  kind: PresentationKind;
  practice: boolean;
  number: number;
  total: number;
  images: { reference: string; left: string | null; right: string | null; comparison: string | null };
}

interface Receipt {
  id: string;
  repeated: boolean;
}

export interface RaterSummary {
  raterId: string;
  pseudonym: string;
  index: number;
  /** Answers sent in this run (new and repeated). */
  answered: number;
  /** Of them, answers the server had stored before (the same client key). */
  repeated: number;
  meanResponseMs: number | null;
  /** The rater's presentations (total in its sequence), when it had any left to answer. */
  total: number | null;
}

export interface PanelSummary {
  studyId: string;
  simulated: true;
  observer: string;
  params: ObserverParams;
  raters: number;
  submitted: number;
  repeated: number;
  perRater: RaterSummary[];
}

const FIELDS = `raterId pseudonym token`;
const NEXT = `query ($study: ID!) { nextPresentation(studyId: $study) { id kind practice number total images { reference left right comparison } } }`;
const SUBMIT = `mutation ($input: SubmitJudgmentInput!) { submitJudgment(input: $input) { id repeated } }`;

/** The client key of a rater's answer to a presentation: the same on every run. */
export function clientKeyFor(pseudonym: string, presentationId: string): string {
  return `simulate-panel:${pseudonym}:${presentationId}`;
}

async function fetchPixels(url: string): Promise<Pixels> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new ApiError(`could not fetch a presentation image (${url.split('?')[0]}): ${(error as Error).cause ?? error}`, null);
  }
  if (!response.ok) throw new ApiError(`presentation image ${url.split('?')[0]}: HTTP ${response.status} ${await response.text().catch(() => '')}`.trim(), null);
  return decodePng(Buffer.from(await response.arrayBuffer()));
}

/** Submits with the same client key again after a failed connection: the server stores the answer once. */
async function submit(server: Server, input: Record<string, unknown>): Promise<Receipt> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await request<{ submitJudgment: Receipt }>(server, SUBMIT, { input })).submitJudgment;
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== null || attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

async function answerAll(
  base: Server,
  studyId: string,
  rater: RaterToken,
  index: number,
  params: ObserverParams,
  progress: (line: string) => void,
  stopped: () => boolean,
): Promise<RaterSummary> {
  const server: Server = { url: base.url, token: rater.token };
  const summary: RaterSummary = { raterId: rater.raterId, pseudonym: rater.pseudonym, index, answered: 0, repeated: 0, meanResponseMs: null, total: null };
  let timeSum = 0;
  const every = 25;
  while (!stopped()) {
    const { nextPresentation: next } = await request<{ nextPresentation: Presentation | null }>(server, NEXT, { study: studyId });
    if (!next) break;
    summary.total = next.total;
    const reference = await fetchPixels(next.images.reference);
    let distances: Distances;
    if (next.kind === 'TWO_AFC') {
      if (!next.images.left || !next.images.right) throw new Error(`2AFC presentation ${next.id} came without left and right images`);
      const [left, right] = await Promise.all([fetchPixels(next.images.left), fetchPixels(next.images.right)]);
      distances = { left: imageDistance(reference, left, params.metric), right: imageDistance(reference, right, params.metric) };
    } else if (next.kind === 'JND') {
      if (!next.images.comparison) throw new Error(`JND presentation ${next.id} came without a comparison image`);
      distances = { comparison: imageDistance(reference, await fetchPixels(next.images.comparison), params.metric) };
    } else {
      throw new Error(`presentation ${next.id} is of a kind this observer does not know: ${String(next.kind)}`);
    }
    const answer = decide(next.kind, distances, params, drawsFor(params.seed, index, next.number, 'decision'));
    const responseMs = responseTime(params, drawsFor(params.seed, index, next.number, 'time'));
    const receipt = await submit(server, {
      presentationId: next.id,
      answer,
      responseMs,
      clientKey: clientKeyFor(rater.pseudonym, next.id),
      display: { imageWidth: reference.width, imageHeight: reference.height, devicePixelRatio: 1 },
    });
    summary.answered++;
    if (receipt.repeated) summary.repeated++;
    timeSum += responseMs;
    if (summary.answered % every === 0) progress(`${rater.pseudonym}: ${next.number}/${next.total} answered`);
  }
  summary.meanResponseMs = summary.answered ? timeSum / summary.answered : null;
  return summary;
}

/** Simulated raters answer every open presentation of theirs in the study (k raters at once). */
export async function simulatePanel(
  server: Server,
  studyId: string,
  options: { params: ObserverParams; raters: number | null; concurrency: number; progress?: (line: string) => void },
): Promise<PanelSummary> {
  const { params } = options;
  const progress = options.progress ?? (() => undefined);
  const observer = describeObserver(params);
  const { study } = await request<{ study: { id: string; name: string; state: string } }>(server, `query ($id: ID!) { study(id: $id) { id name state } }`, { id: studyId });
  if (study.state !== 'OPEN') throw new ApiError(`study ${study.id} (${study.name}) is ${study.state}: its raters get no more presentations`, 'LOCKED');

  const tokens =
    options.raters !== null
      ? (await request<{ addSimulatedRaters: RaterToken[] }>(
          server,
          `mutation ($study: ID!, $count: Int!, $observer: String!) { addSimulatedRaters(studyId: $study, count: $count, observer: $observer) { ${FIELDS} } }`,
          { study: studyId, count: options.raters, observer },
        )).addSimulatedRaters
      : (await request<{ simulatedRaterTokens: RaterToken[] }>(server, `mutation ($study: ID!) { simulatedRaterTokens(studyId: $study) { ${FIELDS} } }`, { study: studyId }))
          .simulatedRaterTokens;
  if (tokens.length === 0) throw new ApiError(`study ${study.id} (${study.name}) has no active simulated raters: pass --raters N to add some`, 'BAD_USER_INPUT');

  // A rater's index: its place among the study's simulated raters in the order they joined (withdrawn ones
  // included), the same on every run.
  const { study: panel } = await request<{ study: { raters: Array<{ id: string; simulated: boolean }> } }>(server, `query ($id: ID!) { study(id: $id) { raters { id simulated } } }`, {
    id: studyId,
  });
  const order = panel.raters.filter((rater) => rater.simulated).map((rater) => rater.id);
  const indexOf = (raterId: string) => {
    const index = order.indexOf(raterId);
    if (index < 0) throw new Error(`simulated rater ${raterId} is not in the study's panel`);
    return index;
  };

  progress(`${tokens.length} SIMULATED raters (not people) answer study ${study.id} (${study.name}) with the observer model: ${observer}`);
  const results: RaterSummary[] = new Array(tokens.length);
  let nextRater = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && nextRater < tokens.length) {
      const i = nextRater++;
      const rater = tokens[i];
      try {
        results[i] = await answerAll(server, studyId, rater, indexOf(rater.raterId), params, progress, () => failure !== null);
        const r = results[i];
        progress(
          r.answered === 0
            ? `${r.pseudonym}: nothing left to answer`
            : `${r.pseudonym}: done, ${r.answered} answered${r.repeated ? ` (${r.repeated} stored before)` : ''}, mean response ${Math.round(r.meanResponseMs!)} ms`,
        );
      } catch (error) {
        if (failure === null) failure = error instanceof ApiError ? new ApiError(`${rater.pseudonym}: ${error.message}`, error.code) : error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, tokens.length) }, worker));
  if (failure !== null) throw failure;

  const submitted = results.reduce((sum, r) => sum + r.answered - r.repeated, 0);
  const repeated = results.reduce((sum, r) => sum + r.repeated, 0);
  return { studyId: study.id, simulated: true, observer, params, raters: results.length, submitted, repeated, perRater: results };
}

export function formatSummary(summary: PanelSummary): string {
  const lines = [
    `SIMULATED raters (not people), observer model: ${summary.observer}`,
    `  distance ${summary.params.metric === 'l2' ? 'root-mean-square' : 'mean absolute'} difference of the displayed 8-bit pixels in [0, 1]; ` +
      `2AFC: the side closer to the reference after N(0, ${summary.params.noise}) noise on d_left - d_right; ` +
      `JND: SAME when d + N(0, ${summary.params.noise}) < ${summary.params.jndThreshold}; lapse ${summary.params.lapse} (a fair coin); ` +
      `response time log-normal, median ${summary.params.rtMedianMs} ms, log-sd ${summary.params.rtSpread}, at least ${MIN_RESPONSE_MS} ms; seed ${summary.params.seed}`,
    `study ${summary.studyId}: ${summary.raters} raters, ${summary.submitted} judgments submitted, ${summary.repeated} repeated (stored before)`,
  ];
  if (summary.submitted + summary.repeated === 0) lines.push('nothing left to answer: every simulated rater is done');
  for (const rater of summary.perRater) {
    const mean = rater.meanResponseMs === null ? '-' : `${Math.round(rater.meanResponseMs)} ms`;
    lines.push(`  ${rater.pseudonym}  answered ${rater.answered}${rater.repeated ? ` (${rater.repeated} repeated)` : ''}  mean responseMs ${mean}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// The command

export interface SimulatePanelCliOptions {
  raters?: string;
  metric: string;
  noise: string;
  lapse: string;
  jndThreshold: string;
  rtMedian: string;
  rtSpread: string;
  seed: string;
  concurrency: string;
  json?: boolean;
  server?: string;
  token?: string;
}

/** A command-line mistake, reported as the command's usage error. */
export class SimulatePanelUsageError extends Error {}

function numberOption(name: string, raw: string, check: (value: number) => boolean, what: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) throw new SimulatePanelUsageError(`${name} must be ${what}, got "${raw}"`);
  return value;
}

export function parseSimulatePanelOptions(options: SimulatePanelCliOptions): { params: ObserverParams; raters: number | null; concurrency: number } {
  if (options.metric !== 'l2' && options.metric !== 'mae') throw new SimulatePanelUsageError(`--metric must be l2 or mae, got "${options.metric}"`);
  const params: ObserverParams = {
    metric: options.metric,
    noise: numberOption('--noise', options.noise, (v) => v >= 0, 'a number >= 0'),
    lapse: numberOption('--lapse', options.lapse, (v) => v >= 0 && v <= 1, 'a number in [0, 1]'),
    jndThreshold: numberOption('--jnd-threshold', options.jndThreshold, (v) => v >= 0, 'a number >= 0'),
    rtMedianMs: numberOption('--rt-median', options.rtMedian, (v) => v > 0 && v <= 3_600_000, 'a number of ms in (0, 3600000]'),
    rtSpread: numberOption('--rt-spread', options.rtSpread, (v) => v >= 0 && v <= 5, 'a number in [0, 5]'),
    seed: numberOption('--seed', options.seed, Number.isInteger, 'an integer'),
  };
  const raters = options.raters === undefined ? null : numberOption('--raters', options.raters, (v) => Number.isInteger(v) && v >= 1 && v <= 100, 'an integer in [1, 100]');
  const concurrency = numberOption('--concurrency', options.concurrency, (v) => Number.isInteger(v) && v >= 1 && v <= 64, 'an integer in [1, 64]');
  return { params, raters, concurrency };
}

export function registerSimulatePanelCommand(program: Command): void {
  const d = OBSERVER_DEFAULTS;
  serverOptions(program.command('simulate-panel'))
    .description(
      'SIMULATED raters answer a study from a stated observer model (distance of the displayed 8-bit pixels, Gaussian decision noise, lapses, ' +
        'log-normal response times), through the public API, so that figures can be checked against a known answer; their judgments are marked simulated',
    )
    .argument('<study>', 'study id')
    .option('--raters <n>', "add n new simulated raters to the study and answer as them (default: answer as the study's existing simulated raters)")
    .option('--metric <metric>', 'l2 (root-mean-square) or mae (mean absolute difference) of the pixels scaled to [0, 1]', d.metric)
    .option('--noise <sigma>', 'sd of the Gaussian decision noise, added to d_left - d_right (2AFC) or to d (JND)', String(d.noise))
    .option('--lapse <lambda>', 'probability of answering with a fair coin', String(d.lapse))
    .option('--jnd-threshold <tau>', 'JND: SAME when d + noise < tau', String(d.jndThreshold))
    .option('--rt-median <ms>', 'median response time (log-normal; reported only, nothing waits)', String(d.rtMedianMs))
    .option('--rt-spread <s>', 'log-sd of the response time', String(d.rtSpread))
    .option('--seed <n>', 'every draw is a function of the seed, the rater index and the presentation number', String(d.seed))
    .option('--concurrency <k>', 'raters answering at once', '4')
    .option('--json', 'print the summary as JSON')
    .action(async function (this: Command, studyId: string, options: SimulatePanelCliOptions) {
      let parsed: ReturnType<typeof parseSimulatePanelOptions>;
      try {
        parsed = parseSimulatePanelOptions(options);
      } catch (error) {
        if (error instanceof SimulatePanelUsageError) this.error(`error: ${error.message}`);
        throw error;
      }
      const summary = await simulatePanel(serverOf(options), studyId, { ...parsed, progress: (line) => console.error(line) });
      console.log(options.json ? JSON.stringify(summary) : formatSummary(summary));
    });
}
