/** GraphQL inputs of test sets (src/testsets/definition.ts checks them and says the ranges). */
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { TestSetKind } from '../entities/TestSet';
import { DistortionFamily, DistortionKindName } from './distortions';
import { CORRUPTIONS } from '../distortions/catalog';
import { LIMITS } from '../testsets/definition';
import { ZOO_POOL_DEFAULTS } from '../training/zoo-knobs';

export enum UnitMode {
  /** Square patches placed at random inside the body of the image. */
  PATCH = 'PATCH',
  /** The whole image: its centred square, resized. */
  WHOLE = 'WHOLE',
}
registerEnumType(UnitMode, { name: 'UnitMode' });

export enum Pairing {
  /** p1's distortion from the entries of p0's category (BAPPS), drawn independently. */
  SAME_CATEGORY = 'SAME_CATEGORY',
  /** p1 from p0's entry (another severity, or another kind of its family). */
  SAME_ENTRY = 'SAME_ENTRY',
  /** p1 from any entry. */
  ANY = 'ANY',
}
registerEnumType(Pairing, { name: 'Pairing' });

@InputType({ description: 'One entry of the distortion pool: kinds (one, or two composed in order) or a family, a severity range and a weight.' })
export class PoolEntryInput {
  @Field(() => [DistortionKindName], { nullable: true, description: 'One kind, or two applied in order (a composition).' })
  kinds?: string[] | null;

  @Field(() => DistortionFamily, { nullable: true, description: 'Instead of kinds: any kind of this family, drawn per item (colour kinds only on RGB images).' })
  family?: string | null;

  @Field(() => Float, { nullable: true, description: 'Lowest severity, in [0, 1] (default 0.1); severities are drawn uniformly in the range.' })
  severityMin?: number | null;

  @Field(() => Float, { nullable: true, description: 'Highest severity, in [0, 1] (default 1).' })
  severityMax?: number | null;

  @Field(() => Float, { nullable: true, description: `Relative weight (default 1, in [${LIMITS.weight.min}, ${LIMITS.weight.max}]).` })
  weight?: number | null;

  @Field(() => String, { nullable: true, description: 'The registered model a CNN-based kind runs.' })
  model?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Instead of kinds or family: a READY generator zoo (trainGeneratorZoo). Each item draws a member, an input corruption and its level, and the mix (the severity range); the members are frozen into the definition.',
  })
  zoo?: string | null;

  @Field(() => [String], { nullable: true, description: `Zoo entries: the input corruptions drawn from (${CORRUPTIONS.join(', ')}; default ${ZOO_POOL_DEFAULTS.corruptions.join(', ')}).` })
  corruptions?: string[] | null;

  @Field(() => Float, { nullable: true, description: `Zoo entries: lowest corruption level, in [0, 1] (default ${ZOO_POOL_DEFAULTS.level[0]}).` })
  levelMin?: number | null;

  @Field(() => Float, { nullable: true, description: `Zoo entries: highest corruption level, in [0, 1] (default ${ZOO_POOL_DEFAULTS.level[1]}).` })
  levelMax?: number | null;

  @Field(() => String, { nullable: true, description: 'Category of its items (default: traditional, xray, cnn, or mixed for a composition).' })
  category?: string | null;
}

@InputType({ description: 'What a test set is made of. Stored (normalised, versioned) with the set; the set is rebuilt exactly from it and the seed.' })
export class TestSetDefinitionInput {
  @Field()
  name!: string;

  @Field(() => TestSetKind)
  kind!: TestSetKind;

  @Field(() => ID, { description: 'The dataset the references come from.' })
  datasetId!: string;

  @Field(() => [String], { nullable: true, description: 'Only images of these splits (default: all).' })
  splits?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Only images with these labels (default: all).' })
  labels?: string[] | null;

  @Field(() => Int, { description: `How many items (references), ${LIMITS.references.min} to ${LIMITS.references.max}.` })
  references!: number;

  @Field(() => UnitMode, { nullable: true, description: 'PATCH (default) or WHOLE.' })
  unit?: UnitMode | null;

  @Field(() => Int, { nullable: true, description: `Patch side, or the whole image's resized side, in px (${LIMITS.size.min} to ${LIMITS.size.max}, default ${LIMITS.size.default}).` })
  size?: number | null;

  @Field(() => Int, { nullable: true, description: `Patches per source image (1 to ${LIMITS.patchesPerImage.max}, default 1).` })
  patchesPerImage?: number | null;

  @Field(() => [PoolEntryInput])
  pool!: PoolEntryInput[];

  @Field(() => Pairing, { nullable: true, description: '2AFC: how p1 is drawn once p0 is (default SAME_CATEGORY, as BAPPS).' })
  pairing?: Pairing | null;

  @Field(() => Float, { nullable: true, description: 'JND: the share of identical pairs, in [0, 0.9] (default 0.25).' })
  identicalShare?: number | null;

  @Field(() => Int, { nullable: true, description: `Sentinel items with an obvious answer (0 to ${LIMITS.sentinels.max}, default 0): 2AFC weak vs strong noise; JND 4 identical pairs to 1 heavily distorted.` })
  sentinels?: number | null;

  @Field(() => Int, { nullable: true, description: `Practice items, shown first with feedback and not analysed (0 to ${LIMITS.practice.max}, default 0).` })
  practice?: number | null;

  @Field(() => Float, { description: 'Seed of every random choice (an integer below 2^53).' })
  seed!: number;
}

@ObjectType()
export class TestSetCount {
  @Field()
  role!: string;

  @Field()
  category!: string;

  @Field(() => Int)
  count!: number;
}
