/** Metrics of stored images: an original, a distorted image or a test-set item's image, by reference. */
import { getImage } from '../datasets/service';
import type { BackendChoice } from '../distortions/apply';
import { decodedSource, getDistortion } from '../distortions/service';
import type { Image } from '../entities/Image';
import type { App } from '../platform/app';
import { assertUuid, badUserInput, notFound } from '../platform/errors';
import { namedModel } from '../models/registry';
import { inferencePool } from '../models/settings';
import { describeDeepModel } from './deep';
import { checkMetrics, scorePair, type DeepModelFinder, type MetricRequest, type MetricValue, type ScoredImage } from './engine';

export type ImageSlot = 'ref' | 'p0' | 'p1';

/** Exactly one of imageId, distortionId or itemId (with the item's slot). */
export interface ImageReference {
  imageId?: string | null;
  distortionId?: string | null;
  itemId?: string | null;
  slot?: ImageSlot | null;
}

/** The data bits an image records: DICOM BitsStored when below the PNG depth, else the PNG depth. */
export function recordedDataBits(image: Pick<Image, 'bitDepth' | 'dicomAttributes'> | null, bitDepth: number): number {
  const stored = Number(image?.dicomAttributes?.BitsStored);
  return Number.isInteger(stored) && stored >= 1 && stored < bitDepth ? stored : bitDepth;
}

export async function located(app: App, ref: ImageReference, field: string): Promise<{ contentHash: string; bitDepth: number; source: Image | null }> {
  const given = [ref.imageId, ref.distortionId, ref.itemId].filter((id) => id !== null && id !== undefined);
  if (given.length !== 1) throw badUserInput(field, 'give exactly one of imageId, distortionId or itemId (with slot)');
  if (ref.imageId) {
    const image = await getImage(app, ref.imageId);
    return { contentHash: image.contentHash, bitDepth: image.bitDepth, source: image };
  }
  if (ref.distortionId) {
    const distorted = await getDistortion(app, ref.distortionId);
    return { contentHash: distorted.contentHash, bitDepth: distorted.bitDepth, source: await getImage(app, distorted.imageId) };
  }
  const slot = ref.slot ?? null;
  if (slot !== 'ref' && slot !== 'p0' && slot !== 'p1') throw badUserInput(`${field}.slot`, 'an item reference needs its slot: ref, p0 or p1');
  const { rows } = await app.pool.query(`SELECT image_id, bit_depth, ${slot}_hash AS hash FROM test_set_items WHERE id = $1`, [assertUuid(`${field}.itemId`, ref.itemId!)]);
  if (!rows[0]?.hash) throw notFound(`image ${slot} of test set item`, ref.itemId!);
  return { contentHash: rows[0].hash, bitDepth: rows[0].bit_depth, source: rows[0].image_id ? await getImage(app, rows[0].image_id) : null };
}

async function scoredImage(app: App, { contentHash, bitDepth, source }: Awaited<ReturnType<typeof located>>): Promise<ScoredImage> {
  const depth = bitDepth === 16 ? 16 : 8;
  return { ...(await decodedSource(app, contentHash)), bitDepth: depth, dataBits: recordedDataBits(source, depth) };
}

/** Deep metrics' models from the registry, by name. */
export function registeredModels(app: App): DeepModelFinder {
  return async (name, field) => describeDeepModel(await namedModel(app, name, field), field);
}

export async function compareStoredImages(
  app: App,
  a: ImageReference,
  b: ImageReference,
  metrics: MetricRequest[],
  options: { dataBits?: number | null; maps?: boolean; backend?: BackendChoice },
): Promise<MetricValue[]> {
  const checked = await checkMetrics(metrics, 'metrics', registeredModels(app));
  const [first, second] = await Promise.all([located(app, a, 'a'), located(app, b, 'b')]);
  const [imageA, imageB] = await Promise.all([scoredImage(app, first), scoredImage(app, second)]);
  return scorePair(imageA, imageB, checked, { ...options, pool: inferencePool(app), keys: [first.contentHash, second.contentHash] });
}
