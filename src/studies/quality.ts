/**
 * Rater quality and what analyses include. Per rater: the sentinel pass rate, test-retest agreement and the
 * median response time (practice left out). An analyst sets exclusion rules on the study; a rater failing a
 * rule is left out of aggregates, never deleted, and every aggregate says which raters it included.
 * Simulated raters are left out unless a caller asks for them. Rules on sentinels or retests apply to raters
 * with at least one judged sentinel or retest.
 */
import type { App } from '../platform/app';
import { assertUuid, badUserInput, requireIntInRange } from '../platform/errors';
import { getStudy } from './service';

export interface ExclusionRules {
  minSentinelPassRate?: number | null;
  minRetestAgreement?: number | null;
  minMedianResponseMs?: number | null;
  raterIds?: string[] | null;
}

export interface RaterQuality {
  raterId: string;
  pseudonym: string;
  simulated: boolean;
  withdrawn: boolean;
  judgments: number;
  sentinels: number;
  sentinelPassRate: number | null;
  retests: number;
  retestAgreement: number | null;
  medianResponseMs: number | null;
  displayCheck: Record<string, number> | null;
  lastActivity: Date | null;
  excluded: boolean;
  reasons: string[];
}

export interface Inclusion {
  includedRaterIds: string[];
  excluded: Array<{ raterId: string; pseudonym: string; reasons: string[] }>;
  includeSimulated: boolean;
}

function fraction(field: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!(value >= 0 && value <= 1)) throw badUserInput(field, `must be in [0, 1], got ${value}`, { min: 0, max: 1 });
  return value;
}

export function normaliseRules(rules: ExclusionRules): ExclusionRules {
  const raterIds = (rules.raterIds ?? []).map((id, index) => assertUuid(`rules.raterIds[${index}]`, id).toLowerCase());
  const median = rules.minMedianResponseMs;
  return {
    minSentinelPassRate: fraction('rules.minSentinelPassRate', rules.minSentinelPassRate),
    minRetestAgreement: fraction('rules.minRetestAgreement', rules.minRetestAgreement),
    minMedianResponseMs: median === null || median === undefined ? null : requireIntInRange('rules.minMedianResponseMs', median, 0, 600_000),
    raterIds: [...new Set(raterIds)],
  };
}

export async function setExclusionRules(app: App, studyId: string, rules: ExclusionRules) {
  const study = await getStudy(app, studyId);
  await app.pool.query(`UPDATE studies SET exclusion_rules = $2 WHERE id = $1`, [study.id, JSON.stringify(normaliseRules(rules))]);
  return getStudy(app, study.id);
}

const CORRECT = `CASE i.expected WHEN 'P1' THEN j.chose_p1 WHEN 'P0' THEN NOT j.chose_p1 WHEN 'SAME' THEN j.said_same WHEN 'DIFFERENT' THEN NOT j.said_same END`;

export async function raterQuality(app: App, studyId: string, options: { includeSimulated?: boolean } = {}): Promise<RaterQuality[]> {
  const study = await getStudy(app, studyId);
  const { rows } = await app.pool.query(
    `SELECT sr.rater_id AS "raterId", r.pseudonym, r.simulated, sr.withdrawn_at IS NOT NULL AS withdrawn,
            count(j.id) FILTER (WHERE p.purpose <> 'PRACTICE')::int AS judgments,
            count(j.id) FILTER (WHERE p.purpose = 'SENTINEL')::int AS sentinels,
            (avg((${CORRECT})::int) FILTER (WHERE p.purpose = 'SENTINEL'))::float8 AS "sentinelPassRate",
            count(first.id) FILTER (WHERE p.purpose = 'RETEST')::int AS retests,
            (avg((COALESCE(j.chose_p1, j.said_same) = COALESCE(first.chose_p1, first.said_same))::int) FILTER (WHERE p.purpose = 'RETEST'))::float8 AS "retestAgreement",
            (percentile_cont(0.5) WITHIN GROUP (ORDER BY j.response_ms) FILTER (WHERE p.purpose <> 'PRACTICE'))::float8 AS "medianResponseMs",
            sr.display_check AS "displayCheck", max(j.received_at) AS "lastActivity"
     FROM study_raters sr
     JOIN raters r ON r.id = sr.rater_id
     LEFT JOIN presentations p ON p.study_id = sr.study_id AND p.rater_id = sr.rater_id
     LEFT JOIN judgments j ON j.presentation_id = p.id AND j.superseded_at IS NULL
     LEFT JOIN test_set_items i ON i.id = p.item_id
     LEFT JOIN judgments first ON first.presentation_id = p.retest_of AND first.superseded_at IS NULL AND j.id IS NOT NULL
     WHERE sr.study_id = $1
     GROUP BY sr.rater_id, r.pseudonym, r.simulated, sr.withdrawn_at, sr.display_check
     ORDER BY r.pseudonym`,
    [study.id],
  );
  const rules = study.exclusionRules;
  const includeSimulated = options.includeSimulated ?? false;
  return rows.map((row) => {
    const reasons: string[] = [];
    if (row.simulated && !includeSimulated) reasons.push('simulated (includeSimulated: false)');
    if (rules.raterIds?.includes(row.raterId)) reasons.push('excluded by the analyst');
    if (rules.minSentinelPassRate != null && row.sentinels > 0 && row.sentinelPassRate < rules.minSentinelPassRate) {
      reasons.push(`sentinel pass rate ${row.sentinelPassRate.toFixed(3)} < ${rules.minSentinelPassRate}`);
    }
    if (rules.minRetestAgreement != null && row.retests > 0 && row.retestAgreement < rules.minRetestAgreement) {
      reasons.push(`retest agreement ${row.retestAgreement.toFixed(3)} < ${rules.minRetestAgreement}`);
    }
    if (rules.minMedianResponseMs != null && row.medianResponseMs !== null && row.medianResponseMs < rules.minMedianResponseMs) {
      reasons.push(`median response ${row.medianResponseMs} ms < ${rules.minMedianResponseMs} ms`);
    }
    return { ...row, excluded: reasons.length > 0, reasons };
  });
}

export async function inclusion(app: App, studyId: string, options: { includeSimulated?: boolean } = {}): Promise<Inclusion> {
  const quality = await raterQuality(app, studyId, options);
  return {
    includedRaterIds: quality.filter((rater) => !rater.excluded).map((rater) => rater.raterId),
    excluded: quality.filter((rater) => rater.excluded).map(({ raterId, pseudonym, reasons }) => ({ raterId, pseudonym, reasons })),
    includeSimulated: options.includeSimulated ?? false,
  };
}

export interface ItemAggregate {
  itemId: string;
  testSetId: string;
  position: number;
  category: string;
  kind: 'TWO_AFC' | 'JND';
  judgments: number;
  /** 2AFC: the fraction who chose p1 as closer; JND: the fraction who said "same". Null without judgments. */
  fraction: number | null;
  raterIds: string[];
  /** Imported sets: the fraction stored with the set. */
  importedFraction: number | null;
}

/**
 * Per item of the study's sets (role ITEM): its judgments from first showings (retests, sentinels and
 * practice are not counted) by the included raters.
 */
export async function itemAggregates(
  app: App,
  studyId: string,
  options: { includeSimulated?: boolean; testSetId?: string | null; first: number; offset: number },
): Promise<{ items: ItemAggregate[]; inclusion: Inclusion }> {
  const included = await inclusion(app, studyId, options);
  const { rows } = await app.pool.query(
    `SELECT i.id AS "itemId", i.test_set_id AS "testSetId", i.position, i.category, s.kind, i.imported_judgment AS "importedFraction",
            count(j.id)::int AS judgments,
            (avg(COALESCE(j.chose_p1, j.said_same)::int))::float8 AS fraction,
            COALESCE(array_agg(j.rater_id ORDER BY j.rater_id) FILTER (WHERE j.id IS NOT NULL), '{}') AS "raterIds"
     FROM study_test_sets st JOIN test_sets s ON s.id = st.test_set_id JOIN test_set_items i ON i.test_set_id = s.id AND i.role = 'ITEM'
     LEFT JOIN presentations p ON p.study_id = st.study_id AND p.item_id = i.id AND p.purpose = 'MAIN' AND p.rater_id = ANY($2::uuid[])
     LEFT JOIN judgments j ON j.presentation_id = p.id AND j.superseded_at IS NULL
     WHERE st.study_id = $1 AND ($3::uuid IS NULL OR s.id = $3)
     GROUP BY i.id, s.kind, s.created_at, s.id ORDER BY s.created_at, s.id, i.position LIMIT $4 OFFSET $5`,
    [
      studyId,
      included.includedRaterIds,
      options.testSetId ? assertUuid('testSetId', options.testSetId) : null,
      requireIntInRange('first', options.first, 1, 10_000),
      requireIntInRange('offset', options.offset, 0, 2 ** 31 - 1),
    ],
  );
  return { items: rows, inclusion: included };
}
