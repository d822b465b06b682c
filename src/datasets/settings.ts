/** The datasets module's settings and its per-installation key. */
import { appService } from '../platform/app';
import { defineSettings, intFromEnv } from '../platform/config';
import { loadSecretKey } from '../platform/secrets';

export const DATASET_SETTINGS = defineSettings('datasets', (env) => ({
  /** Decompression-bomb guard: images with more pixels are refused. */
  maxPixels: intFromEnv(env, 'MEDPSIM_MAX_PIXELS', 100_000_000, 1, 2 ** 31 - 1),
  maxUploadBytes: intFromEnv(env, 'MEDPSIM_MAX_UPLOAD_BYTES', 64 * 1024 * 1024, 1, 2 ** 31 - 1),
}));

/** The HMAC key of DICOM patient pseudonyms: MEDPSIM_PSEUDONYM_KEY, else data/secrets/pseudonym.key. */
export const pseudonymKey = appService((app) => loadSecretKey(app.config.dataDir, 'pseudonym.key', app.config.env.MEDPSIM_PSEUDONYM_KEY));
