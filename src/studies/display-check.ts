/**
 * The reading app's display check: a row of grey steps the rater counts, rendered here in the study's
 * window by the same windowValue that renders every presentation image, and shown by the app through the
 * same path as those images (a PNG at native pixels). The steps are equally spaced stored values across the
 * window (or, for a study that shows each item in its own window, across the 8-bit output those windows
 * map onto), so the count says how many of the levels the study's images use this display tells apart.
 */
import type { App } from '../platform/app';
import { assertUuid, badUserInput, notFound, requireIntInRange } from '../platform/errors';
import { encodePng } from '../imaging/png';
import { windowValue } from '../imaging/render';
import type { DisplayWindow } from '../imaging/types';
import { requireMembership } from './judgments';

export const DISPLAY_CHECK_STEPS = 16;
const STEP_WIDTH = 48;
const HEIGHT = 96;
const OWN_WINDOWS: DisplayWindow = { center: 127.5, width: 255 };

/** The step pattern as an 8-bit greyscale PNG (STEPS × 48 by 96 image pixels). */
export function displayCheckPng(window: DisplayWindow | null): Promise<Buffer> {
  const { center, width } = window ?? OWN_WINDOWS;
  const lower = center - width / 2;
  const levels = Array.from({ length: DISPLAY_CHECK_STEPS }, (_, step) => windowValue(lower + (step * width) / (DISPLAY_CHECK_STEPS - 1), { center, width }));
  const data = new Uint8Array(DISPLAY_CHECK_STEPS * STEP_WIDTH * HEIGHT);
  const row = data.subarray(0, DISPLAY_CHECK_STEPS * STEP_WIDTH);
  for (let x = 0; x < row.length; x++) row[x] = levels[Math.floor(x / STEP_WIDTH)];
  for (let y = 1; y < HEIGHT; y++) data.copyWithin(y * row.length, 0, row.length);
  return encodePng({ data, width: row.length, height: HEIGHT, channels: 1 });
}

/** The study's window for its display check; a rater sees only the studies they are in. */
export async function displayCheckWindow(app: App, studyId: string, raterId: string | null): Promise<DisplayWindow | null> {
  assertUuid('studyId', studyId);
  if (raterId !== null) await requireMembership(app, raterId, studyId);
  const { rows } = await app.pool.query(`SELECT protocol -> 'window' AS window FROM studies WHERE id = $1`, [studyId]);
  if (!rows[0]) throw notFound('study', studyId);
  return rows[0].window ?? null;
}

export interface DisplayCheck {
  /** Grey steps of the check pattern shown, and how many of them the rater could tell apart. */
  stepsShown: number;
  stepsDistinguished: number;
  screenWidth?: number | null;
  screenHeight?: number | null;
  devicePixelRatio?: number | null;
  /** Browser zoom as the app estimates it (1: none). */
  zoom?: number | null;
  colorDepth?: number | null;
  viewportWidth?: number | null;
  viewportHeight?: number | null;
}

const CHECK_LIMITS: Record<string, number> = { screenWidth: 100_000, screenHeight: 100_000, devicePixelRatio: 16, zoom: 16, colorDepth: 64, viewportWidth: 100_000, viewportHeight: 100_000 };

/** Stores the rater's display check for a study, with the window it was drawn in (a later check replaces it). */
export async function recordDisplayCheck(app: App, raterId: string, studyId: string, check: DisplayCheck): Promise<Record<string, number>> {
  const window = await displayCheckWindow(app, studyId, raterId);
  requireIntInRange('check.stepsShown', check.stepsShown, DISPLAY_CHECK_STEPS, DISPLAY_CHECK_STEPS);
  requireIntInRange('check.stepsDistinguished', check.stepsDistinguished, 0, DISPLAY_CHECK_STEPS);
  const stored: Record<string, number> = {};
  for (const [key, value] of Object.entries(check)) {
    if (value === null || value === undefined) continue;
    const max = CHECK_LIMITS[key] ?? DISPLAY_CHECK_STEPS;
    if (!Number.isFinite(value) || value < 0 || value > max) throw badUserInput(`check.${key}`, `must be a number in [0, ${max}], got ${value}`, { min: 0, max });
    stored[key] = value;
  }
  if (window) Object.assign(stored, { windowCenter: window.center, windowWidth: window.width });
  await app.pool.query(`UPDATE study_raters SET display_check = $3, display_checked_at = now() WHERE study_id = $1 AND rater_id = $2`, [studyId, raterId, JSON.stringify(stored)]);
  return stored;
}
