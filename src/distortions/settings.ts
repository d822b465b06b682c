/** The distortions module's settings, and the lane previews run in. */
import { appService } from '../platform/app';
import { defineSettings, intFromEnv } from '../platform/config';
import { Lane } from '../platform/lane';

export const DISTORTION_SETTINGS = defineSettings('distortions', (env) => ({
  /** A preview estimated to take longer (CPU seconds on one core) is refused: run it as a job. */
  previewMaxSeconds: intFromEnv(env, 'MEDPSIM_PREVIEW_MAX_SECONDS', 10, 1, 3600),
  /** Previews running at once in one server process (apart from job work). */
  previewConcurrency: intFromEnv(env, 'MEDPSIM_PREVIEW_CONCURRENCY', 1, 1, 64),
  /** Previews waiting for their turn; more are refused with TOO_BUSY. */
  previewQueue: intFromEnv(env, 'MEDPSIM_PREVIEW_QUEUE', 8, 0, 1000),
  /** A preview still running (or waiting) after this long is stopped. */
  previewTimeoutSeconds: intFromEnv(env, 'MEDPSIM_PREVIEW_TIMEOUT_SECONDS', 60, 1, 3600),
}));

export const previewLane = appService((app) => {
  const settings = app.settings(DISTORTION_SETTINGS);
  return new Lane('previews', settings.previewConcurrency, settings.previewQueue);
});
