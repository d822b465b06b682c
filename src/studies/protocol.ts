/**
 * A study's protocol: how many judgments each item gets, the practice block, sentinels, retests, breaks,
 * the display window and the JND timings. Checked here (every field against its range) and stored with
 * the study as versioned JSON; what the reading app shows and times follows it.
 */
import { badUserInput, requireIntInRange } from '../platform/errors';
import type { DisplayWindow } from '../imaging/types';

export const PROTOCOL_SCHEMA = 1;

/** BAPPS: 5 judgments per 2AFC validation triplet, 3 per JND pair (field-notes). */
export const DEFAULT_JUDGMENTS = { TWO_AFC: 5, JND: 3 } as const;
export const RETEST_SHARE = { min: 0.1, max: 0.2, default: 0.1 } as const;
/** Device pixels per image pixel: 1 is native pixels; other zooms the study fixes for every rater. */
export const ZOOM = { min: 0.25, max: 8, default: 1 } as const;

export interface JndTimings {
  referenceMs: number;
  blankMs: number;
  distortedMs: number;
}

export interface ProtocolInput {
  judgmentsPerItem?: number | null;
  practice?: boolean | null;
  sentinels?: boolean | null;
  retestShare?: number | null;
  retestMinGap?: number | null;
  breakEvery?: number | null;
  windowCenter?: number | null;
  windowWidth?: number | null;
  referenceMs?: number | null;
  blankMs?: number | null;
  distortedMs?: number | null;
  allowAnswerChange?: boolean | null;
  zoom?: number | null;
}

export interface Protocol {
  schema: typeof PROTOCOL_SCHEMA;
  /** Judgments per item, each by a distinct rater, by test-set kind. */
  judgmentsPerItem: { TWO_AFC: number; JND: number };
  practice: boolean;
  sentinels: boolean;
  /** Share of a rater's items shown again (0: no retests). */
  retestShare: number;
  /** A retest comes at least this many presentations after the first showing. */
  retestMinGap: number;
  /** A break every this many presentations (0: none). */
  breakEvery: number;
  /** Display window in stored units; null: each item's own. */
  window: DisplayWindow | null;
  /** Device pixels per image pixel, the same for every rater (1: native pixels). */
  zoom: number;
  jnd: JndTimings;
  allowAnswerChange: boolean;
}

export function normaliseProtocol(input: ProtocolInput = {}): Protocol {
  const field = (name: string) => `protocol.${name}`;
  const perItem = input.judgmentsPerItem;
  if (perItem !== null && perItem !== undefined) requireIntInRange(field('judgmentsPerItem'), perItem, 1, 100);
  const retestShare = input.retestShare ?? RETEST_SHARE.default;
  if (retestShare !== 0 && !(retestShare >= RETEST_SHARE.min && retestShare <= RETEST_SHARE.max)) {
    throw badUserInput(field('retestShare'), `must be 0 (no retests) or in [${RETEST_SHARE.min}, ${RETEST_SHARE.max}], got ${retestShare}`, RETEST_SHARE);
  }
  const center = input.windowCenter ?? null;
  const width = input.windowWidth ?? null;
  if ((center === null) !== (width === null)) throw badUserInput(field('windowCenter'), 'windowCenter and windowWidth go together');
  if (center !== null && !Number.isFinite(center)) throw badUserInput(field('windowCenter'), `must be a finite number, got ${center}`);
  if (width !== null && !(Number.isFinite(width) && width > 0)) throw badUserInput(field('windowWidth'), `must be a number > 0, got ${width}`);
  const zoom = input.zoom ?? ZOOM.default;
  if (!(Number.isFinite(zoom) && zoom >= ZOOM.min && zoom <= ZOOM.max)) throw badUserInput(field('zoom'), `must be a number in [${ZOOM.min}, ${ZOOM.max}], got ${zoom}`, ZOOM);
  return {
    schema: PROTOCOL_SCHEMA,
    judgmentsPerItem: perItem ? { TWO_AFC: perItem, JND: perItem } : { ...DEFAULT_JUDGMENTS },
    practice: input.practice ?? true,
    sentinels: input.sentinels ?? true,
    retestShare,
    retestMinGap: requireIntInRange(field('retestMinGap'), input.retestMinGap ?? 10, 1, 10_000),
    breakEvery: requireIntInRange(field('breakEvery'), input.breakEvery ?? 50, 0, 10_000),
    window: center !== null ? { center, width: width! } : null,
    zoom,
    jnd: {
      referenceMs: requireIntInRange(field('referenceMs'), input.referenceMs ?? 1000, 50, 10_000),
      blankMs: requireIntInRange(field('blankMs'), input.blankMs ?? 250, 0, 10_000),
      distortedMs: requireIntInRange(field('distortedMs'), input.distortedMs ?? 1000, 50, 10_000),
    },
    allowAnswerChange: input.allowAnswerChange ?? false,
  };
}
