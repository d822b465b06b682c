/** GraphQL view of the metric catalog (src/metrics/catalog.ts is the only description) and of metric values. */
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { METRIC_FAMILIES, METRICS } from '../metrics/catalog';
import { DistortionParamView } from './distortions';

/** Enum values are the catalog's metric names, as the CLI and the native engine spell them. */
export const MetricName = Object.fromEntries(METRICS.map((metric) => [metric.name, metric.name])) as Record<string, string>;
registerEnumType(MetricName, {
  name: 'MetricName',
  valuesConfig: Object.fromEntries(METRICS.map((metric) => [metric.name, { description: metric.description }])),
});

export const MetricFamily = Object.fromEntries(METRIC_FAMILIES.map((family) => [family, family])) as Record<string, string>;
registerEnumType(MetricFamily, { name: 'MetricFamily' });

export enum MetricDirection {
  distance = 'distance',
  similarity = 'similarity',
}
registerEnumType(MetricDirection, { name: 'MetricDirection', description: 'distance: 0 for identical images, larger is more different; similarity: larger is more alike.' });

export enum ImageSlotEnum {
  ref = 'ref',
  p0 = 'p0',
  p1 = 'p1',
}
registerEnumType(ImageSlotEnum, { name: 'ImageSlot', description: "A test-set item's images: the reference and the two candidates (JND: p0 and p1)." });

@ObjectType({ description: 'One metric: what it measures, every pinned setting, its parameters and version.' })
export class MetricView {
  @Field(() => MetricName)
  name!: string;

  @Field(() => MetricFamily)
  family!: string;

  @Field(() => MetricDirection)
  direction!: string;

  @Field()
  description!: string;

  @Field()
  reference!: string;

  @Field({ description: 'pooled, per_channel or luminance: what it does with RGB pairs.' })
  channels!: string;

  @Field(() => Int, { description: 'Smallest width and height with default parameters.' })
  minSide!: number;

  @Field()
  minSideRule!: string;

  @Field({ description: 'What the per-pixel map holds.' })
  map!: string;

  @Field({ description: 'How the values relate to scikit-image and the PyTorch toolkits.' })
  toolkits!: string;

  @Field(() => [DistortionParamView])
  params!: DistortionParamView[];

  @Field(() => Int, { description: 'Changes whenever the values would change; stored scores carry it.' })
  version!: number;

  @Field({ description: 'Computed by a registered model (a request names it), not by the engine.' })
  needsModel!: boolean;
}

export function metricCatalogView(): MetricView[] {
  return METRICS.map((metric) => ({
    ...metric,
    needsModel: metric.model ?? false,
    params: metric.params.map((param) => ({
      ...param,
      integer: param.integer ?? false,
      allowed: param.allowed ? [...param.allowed] : null,
      severity: null,
      decimals: param.integer ? 0 : 5,
      amount: false,
    })),
  }));
}

@InputType({ description: 'A metric and its parameters (missing ones take their defaults).' })
export class MetricInput {
  @Field(() => MetricName)
  name!: string;

  @Field(() => GraphQLJSONObject, { nullable: true })
  params?: Record<string, number> | null;

  @Field(() => String, { nullable: true, description: 'Deep metrics (lpips): the registered classifier or backbone whose features it compares.' })
  model?: string | null;

  @Field(() => [String], { nullable: true, description: "Deep metrics: the feature outputs to use (default: the manifest's defaultLayers)." })
  layers?: string[] | null;
}

@InputType({ description: 'A stored image: exactly one of imageId, distortionId or itemId (with slot).' })
export class ImageRefInput {
  @Field(() => ID, { nullable: true, description: 'An original (imported) image.' })
  imageId?: string | null;

  @Field(() => ID, { nullable: true, description: 'A stored distorted image.' })
  distortionId?: string | null;

  @Field(() => ID, { nullable: true, description: "A test-set item (with slot: which of its images)." })
  itemId?: string | null;

  @Field(() => ImageSlotEnum, { nullable: true })
  slot?: ImageSlotEnum | null;
}

@ObjectType({ description: 'A per-pixel map as an 8-bit grey PNG: min shown black, max white.' })
export class MetricMapView {
  @Field(() => Int)
  width!: number;

  @Field(() => Int)
  height!: number;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field({ description: 'data:image/png;base64,...' })
  dataUrl!: string;
}

/** What identifies a metric's value: the metric, its settings, version and data range. */
@ObjectType()
abstract class MetricSettingFields {
  @Field(() => MetricName)
  metric!: string;

  @Field(() => GraphQLJSONObject)
  params!: Record<string, number>;

  @Field(() => String, { nullable: true, description: 'Deep metrics: the model whose features were compared.' })
  model!: string | null;

  @Field(() => [String], { nullable: true, description: 'Deep metrics: the feature outputs used.' })
  layers!: string[] | null;

  @Field(() => Int)
  version!: number;

  @Field(() => Int, { description: 'The data range used, as bits: L = 2^dataBits - 1 levels.' })
  dataBits!: number;
}

@ObjectType({ description: 'A metric of a pair of images.' })
export class MetricValueView extends MetricSettingFields {
  @Field(() => Float, { nullable: true, description: 'Null when infinite (PSNR of identical images; see infinite).' })
  value!: number | null;

  @Field({ description: 'The value is +infinity (PSNR of identical images).' })
  infinite!: boolean;

  @Field(() => MetricMapView, { nullable: true, description: 'When asked for (maps: true); engine metrics only.' })
  map!: MetricMapView | null;

  @Field(() => String, { nullable: true, description: 'Why it ran elsewhere than asked (e.g. onnxruntime fell back from CUDA to the CPU).' })
  note!: string | null;
}

@InputType({ description: 'Two stored images to compare: a is the reference.' })
export class ImagePairInput {
  @Field(() => ImageRefInput)
  a!: ImageRefInput;

  @Field(() => ImageRefInput)
  b!: ImageRefInput;
}

@ObjectType({ description: "A test-set item's stored score for one metric setting (the metric's current version)." })
export class ItemScoreView extends MetricSettingFields {
  @Field(() => Float, { nullable: true, description: '2AFC: d(ref, p0); JND: d(p0, p1). Null when infinite (PSNR of identical images).' })
  d0!: number | null;

  @Field(() => Float, { nullable: true, description: '2AFC: d(ref, p1); null for JND (and when infinite).' })
  d1!: number | null;
}

@ObjectType({ description: "A stored score of an image pair (the metric's current version)." })
export class PairScoreView extends MetricSettingFields {
  @Field(() => Int, { description: 'Index of the pair in the request.' })
  pair!: number;

  @Field(() => Float, { nullable: true, description: 'Null when infinite (see infinite).' })
  value!: number | null;

  @Field()
  infinite!: boolean;
}
