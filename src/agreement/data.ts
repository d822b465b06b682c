/**
 * What an analysis reads from the store, once: a study's items (role ITEM, both test types), the first-showing
 * judgments of the raters its exclusion rules include, every rater's response times and quality, and the
 * stored metric values of the items' image pairs. Retests, sentinels and practice never enter the scores.
 * The result is plain data (typed arrays and rows) that the statistics run on off the event loop.
 */
import { createHash } from 'node:crypto';
import { metricSpec } from '../metrics/catalog';
import { checkMetrics, type MetricRequest } from '../metrics/engine';
import { storedScores, type ImagePair, type PairImage, type PairScore } from '../metrics/scores';
import { recordedDataBits, registeredModels } from '../metrics/service';
import type { App } from '../platform/app';
import { raterQuality, type Inclusion, type RaterQuality } from '../studies/quality';
import { getStudy } from '../studies/service';
import type { Judged } from './judged';

export type TestType = 'TWO_AFC' | 'JND';

/** A single-kind distortion with a severity: what the psychometric curves plot. */
export interface Severity {
  kind: string;
  severity: number;
}

export interface AnalysedItem {
  id: string;
  testSetId: string;
  position: number;
  category: string;
  kinds: string[];
  /** JND: an identical pair (a control: analysed apart from the distorted pairs). */
  identical: boolean;
  /** 2AFC: p0's and p1's; JND: p1's (p0 is the reference). Null for compositions and explicit parameters. */
  p0: Severity | null;
  p1: Severity | null;
  pairs: ImagePair[];
}

/** One metric at one setting (and model). */
export interface MetricDescription {
  /** A stable label: the name, then non-default settings, e.g. "ms_ssim(scales=3)", "lpips(cxr; layer2,layer3)". */
  label: string;
  metric: string;
  params: Record<string, number>;
  model: string | null;
  layers: string[] | null;
  direction: 'distance' | 'similarity';
}

/** A metric as stored: its values per item of each test type. */
export interface MetricSeries extends MetricDescription {
  /** 2AFC: [d(ref, p0), d(ref, p1)] per item; JND: d(p0, p1) per item; NaN where not stored. */
  twoAfc: { d0: Float64Array; d1: Float64Array };
  jnd: Float64Array;
}

export interface TestTypeData {
  items: AnalysedItem[];
  judged: Judged;
}

export interface StudyData {
  study: { id: string; name: string };
  inclusion: Inclusion;
  /** The raters of `judged` by index (included raters only), and every rater's quality row. */
  raters: RaterQuality[];
  raterIndex: string[];
  twoAfc: TestTypeData;
  jnd: TestTypeData;
  metrics: MetricSeries[];
  /** Each rater's response times of all non-practice judgments, for the quality figures. */
  responseTimes: Map<string, number[]>;
  /** A digest of everything above: equal digests give equal analyses for equal options. */
  fingerprint: string;
}

function severityOf(spec: { steps?: Array<{ kind: string; severity?: number | null }> } | null): Severity | null {
  const steps = spec?.steps ?? [];
  if (steps.length !== 1 || typeof steps[0].severity !== 'number') return null;
  return { kind: steps[0].kind, severity: steps[0].severity };
}

export function metricLabel(score: Pick<PairScore, 'metric' | 'params' | 'model' | 'layers'>): string {
  if (score.model) return `${score.metric}(${score.model}${score.layers?.length ? `; ${score.layers.join(',')}` : ''})`;
  const spec = metricSpec(score.metric);
  const changed = Object.entries(score.params).filter(([name, value]) => spec?.params.find((p) => p.name === name)?.default !== value);
  return changed.length ? `${score.metric}(${changed.map(([name, value]) => `${name}=${value}`).join(',')})` : score.metric;
}

async function loadItems(app: App, studyId: string): Promise<Array<AnalysedItem & { type: TestType }>> {
  const { rows } = await app.pool.query(
    `SELECT i.id, i.test_set_id, i.position, i.category, i.kinds, i.identical, i.p0_spec, i.p1_spec, s.kind AS type,
            i.ref_hash, i.p0_hash, i.p1_hash, i.bit_depth, src.bit_depth AS source_depth, src.dicom_attributes
     FROM study_test_sets st JOIN test_sets s ON s.id = st.test_set_id
     JOIN test_set_items i ON i.test_set_id = s.id AND i.role = 'ITEM'
     LEFT JOIN images src ON src.id = i.image_id
     WHERE st.study_id = $1 AND i.p0_hash IS NOT NULL AND i.p1_hash IS NOT NULL
     ORDER BY s.created_at, s.id, i.position`,
    [studyId],
  );
  return rows.map((row) => {
    const depth = row.bit_depth === 16 ? 16 : 8;
    const dataBits = recordedDataBits(row.source_depth === null ? null : { bitDepth: row.source_depth, dicomAttributes: row.dicom_attributes }, depth);
    const image = (hash: string): PairImage => ({ hash, bitDepth: depth, dataBits });
    const twoAfc = row.type === 'TWO_AFC';
    return {
      id: row.id,
      testSetId: row.test_set_id,
      position: row.position,
      category: row.category,
      kinds: row.kinds,
      identical: row.identical,
      type: row.type,
      p0: twoAfc ? severityOf(row.p0_spec) : null,
      p1: row.identical ? null : severityOf(row.p1_spec),
      pairs: twoAfc
        ? [{ a: image(row.ref_hash), b: image(row.p0_hash) }, { a: image(row.ref_hash), b: image(row.p1_hash) }]
        : [{ a: image(row.p0_hash), b: image(row.p1_hash) }],
    };
  });
}

function judgedOf(items: AnalysedItem[], rows: Array<{ item_id: string; rater: number; answer: boolean }>, raterCount: number): TestTypeData {
  const index = new Map(items.map((item, i) => [item.id, i]));
  const mine = rows.filter((row) => index.has(row.item_id)).sort((x, y) => index.get(x.item_id)! - index.get(y.item_id)! || x.rater - y.rater);
  const start = new Int32Array(items.length + 1);
  for (const row of mine) start[index.get(row.item_id)! + 1]++;
  for (let i = 0; i < items.length; i++) start[i + 1] += start[i];
  return {
    items,
    judged: { count: items.length, raterCount, start, rater: Int32Array.from(mine, (row) => row.rater), answer: Uint8Array.from(mine, (row) => (row.answer ? 1 : 0)) },
  };
}

/** Every stored metric setting with a value for at least one item, or the requested ones. */
function metricSeries(twoAfc: AnalysedItem[], jnd: AnalysedItem[], found: Map<string, PairScore[]>): MetricSeries[] {
  const series = new Map<string, MetricSeries>();
  const seriesOf = (score: PairScore): MetricSeries => {
    const label = metricLabel(score);
    let entry = series.get(label);
    if (!entry) {
      entry = {
        label,
        metric: score.metric,
        params: score.params,
        model: score.model,
        layers: score.layers,
        direction: metricSpec(score.metric)!.direction,
        twoAfc: { d0: new Float64Array(twoAfc.length).fill(NaN), d1: new Float64Array(twoAfc.length).fill(NaN) },
        jnd: new Float64Array(jnd.length).fill(NaN),
      };
      series.set(label, entry);
    }
    return entry;
  };
  const scoresOf = (pair: ImagePair) => found.get(`${pair.a.hash}/${pair.b.hash}`) ?? [];
  twoAfc.forEach((item, i) => {
    for (const score of scoresOf(item.pairs[0])) seriesOf(score).twoAfc.d0[i] = score.value;
    for (const score of scoresOf(item.pairs[1])) seriesOf(score).twoAfc.d1[i] = score.value;
  });
  jnd.forEach((item, i) => {
    for (const score of scoresOf(item.pairs[0])) seriesOf(score).jnd[i] = score.value;
  });
  return [...series.values()].sort((x, y) => x.label.localeCompare(y.label));
}

function digest(data: Omit<StudyData, 'fingerprint'>, metrics: MetricRequest[] | null): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ study: data.study.id, raters: data.raterIndex, metrics, quality: data.raters.map((r) => [r.raterId, r.excluded, r.sentinelPassRate, r.retestAgreement, r.judgments]) }));
  for (const part of [data.twoAfc, data.jnd]) {
    hash.update(part.items.map((item) => item.id).join(','));
    for (const array of [part.judged.start, part.judged.rater, part.judged.answer]) hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  }
  for (const [raterId, times] of data.responseTimes) hash.update(`${raterId}:${times.join(',')}`);
  for (const series of data.metrics) {
    hash.update(series.label);
    for (const array of [series.twoAfc.d0, series.twoAfc.d1, series.jnd]) hash.update(new Uint8Array(array.buffer));
  }
  return hash.digest('hex');
}

export async function loadStudyData(app: App, studyId: string, options: { includeSimulated: boolean; metrics: MetricRequest[] | null }): Promise<StudyData> {
  const study = await getStudy(app, studyId, 'studyId');
  const checked = options.metrics ? await checkMetrics(options.metrics, 'metrics', registeredModels(app)) : null;
  const raters = await raterQuality(app, study.id, { includeSimulated: options.includeSimulated });
  const included = raters.filter((rater) => !rater.excluded);
  const raterIndex = included.map((rater) => rater.raterId);
  const inclusion: Inclusion = {
    includedRaterIds: raterIndex,
    excluded: raters.filter((rater) => rater.excluded).map(({ raterId, pseudonym, reasons }) => ({ raterId, pseudonym, reasons })),
    includeSimulated: options.includeSimulated,
  };
  const items = await loadItems(app, study.id);
  const { rows } = await app.pool.query(
    `SELECT j.item_id, j.rater_id, COALESCE(j.chose_p1, j.said_same) AS answer, j.response_ms, p.purpose
     FROM presentations p JOIN judgments j ON j.presentation_id = p.id AND j.superseded_at IS NULL
     WHERE p.study_id = $1 AND p.purpose <> 'PRACTICE'`,
    [study.id],
  );
  const responseTimes = new Map<string, number[]>();
  for (const row of rows) {
    const times = responseTimes.get(row.rater_id) ?? [];
    times.push(row.response_ms);
    responseTimes.set(row.rater_id, times);
  }
  const raterNumber = new Map(raterIndex.map((id, i) => [id, i]));
  const main = rows
    .filter((row) => row.purpose === 'MAIN' && raterNumber.has(row.rater_id))
    .map((row) => ({ item_id: row.item_id, rater: raterNumber.get(row.rater_id)!, answer: row.answer }));
  const twoAfcItems = items.filter((item) => item.type === 'TWO_AFC');
  const jndItems = items.filter((item) => item.type === 'JND');
  const found = await storedScores(app, items.flatMap((item) => item.pairs), checked);
  const data = {
    study: { id: study.id, name: study.name },
    inclusion,
    raters,
    raterIndex,
    twoAfc: judgedOf(twoAfcItems, main, raterIndex.length),
    jnd: judgedOf(jndItems, main, raterIndex.length),
    metrics: metricSeries(twoAfcItems, jndItems, found),
    responseTimes,
  };
  return { ...data, fingerprint: digest(data, options.metrics) };
}
