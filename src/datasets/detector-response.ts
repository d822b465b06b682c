/**
 * Detector responses given by clients (src/imaging/detector-response.ts): the import option for plain files
 * and setDetectorResponse, which re-marks a dataset's images or the images named. A given response is
 * stored with source 'user'; DICOM files are imported with their header's (see src/imaging/dicom/decode.ts).
 */
import type { App } from '../platform/app';
import {
  ATTENUATION_RANGE_LIMITS,
  DEFAULT_ATTENUATION_RANGE,
  type DetectorResponse,
  type ResponseMapping,
} from '../imaging/detector-response';
import { assertUuid, badUserInput, notFound, quoted } from '../platform/errors';

export interface DetectorResponseInput {
  mapping: ResponseMapping | string;
  polarity: number;
  /** Default DEFAULT_ATTENUATION_RANGE. */
  attenuationRange?: number | null;
}

const MAPPINGS: readonly ResponseMapping[] = ['log', 'linear'];

/** At most this many image ids in one setDetectorResponse (a whole dataset goes by its id). */
export const MAX_RESPONSE_IMAGE_IDS = 10_000;

/** A client's response, checked (`field` names it in errors, e.g. "detectorResponse"), with source 'user'. */
export function userResponse(field: string, input: DetectorResponseInput): DetectorResponse {
  if (!(MAPPINGS as readonly string[]).includes(input.mapping)) {
    throw badUserInput(`${field}.mapping`, `must be one of ${MAPPINGS.join(', ')}, got ${quoted(input.mapping)}`, { allowed: MAPPINGS });
  }
  if (input.polarity !== 1 && input.polarity !== -1) {
    throw badUserInput(
      `${field}.polarity`,
      `must be 1 (brighter = more attenuation, the radiograph convention) or -1 (brighter = more intensity), got ${input.polarity}`,
      { allowed: [1, -1] },
    );
  }
  const range = input.attenuationRange ?? DEFAULT_ATTENUATION_RANGE;
  const { min, max } = ATTENUATION_RANGE_LIMITS;
  if (typeof range !== 'number' || !Number.isFinite(range) || range < min || range > max) {
    throw badUserInput(`${field}.attenuationRange`, `must be a number of nepers in [${min}, ${max}], got ${range}`, { min, max });
  }
  return { mapping: input.mapping as ResponseMapping, polarity: input.polarity, attenuationRange: range, source: 'user' };
}

export interface SetDetectorResponseInput {
  datasetId?: string | null;
  imageIds?: string[] | null;
  response: DetectorResponseInput;
}

/**
 * Sets the response of every image of a dataset, or of the images named (exactly one of the two), DICOM
 * images included: a client that re-marks knows better than the header. Returns how many images changed
 * (those that had this response already are not counted).
 */
export async function setDetectorResponse(app: App, input: SetDetectorResponseInput): Promise<number> {
  const hasDataset = input.datasetId !== null && input.datasetId !== undefined;
  const hasImages = input.imageIds !== null && input.imageIds !== undefined;
  if (hasDataset === hasImages) {
    throw badUserInput(hasDataset ? 'imageIds' : 'datasetId', 'give datasetId or imageIds (exactly one of them)');
  }
  const response = JSON.stringify(userResponse('response', input.response));
  if (hasDataset) {
    const datasetId = assertUuid('datasetId', input.datasetId!);
    const { rowCount: exists } = await app.pool.query(`SELECT 1 FROM datasets WHERE id = $1`, [datasetId]);
    if (!exists) throw notFound('dataset', datasetId);
    const { rowCount } = await app.pool.query(
      `UPDATE images SET detector_response = $2::jsonb WHERE dataset_id = $1 AND detector_response IS DISTINCT FROM $2::jsonb`,
      [datasetId, response],
    );
    return rowCount ?? 0;
  }
  const ids = [...new Set(input.imageIds!.map((id, index) => assertUuid(`imageIds[${index}]`, id).toLowerCase()))];
  if (ids.length === 0) throw badUserInput('imageIds', 'give at least one image');
  if (ids.length > MAX_RESPONSE_IMAGE_IDS) {
    throw badUserInput('imageIds', `at most ${MAX_RESPONSE_IMAGE_IDS} images at once, got ${ids.length} (give datasetId for a whole dataset)`, {
      max: MAX_RESPONSE_IMAGE_IDS,
    });
  }
  const { rows } = await app.pool.query<{ id: string }>(`SELECT id::text FROM images WHERE id = ANY($1::uuid[])`, [ids]);
  const found = new Set(rows.map((row) => row.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing) throw notFound('image', missing);
  const { rowCount } = await app.pool.query(
    `UPDATE images SET detector_response = $2::jsonb WHERE id = ANY($1::uuid[]) AND detector_response IS DISTINCT FROM $2::jsonb`,
    [ids, response],
  );
  return rowCount ?? 0;
}
