/** GraphQL view of the distortion catalog (src/distortions/catalog.ts is the only description). */
import { GraphQLJSON, GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ImageFilter } from './types';
import { CATALOG, FAMILIES } from '../distortions/catalog';
import { decimalsOf } from '../distortions/spec';

/** Enum values are the catalog's kind names, as the CLI and the native engine spell them. */
export const DistortionKindName = Object.fromEntries(CATALOG.map((kind) => [kind.name, kind.name])) as Record<string, string>;
registerEnumType(DistortionKindName, {
  name: 'DistortionKindName',
  valuesConfig: Object.fromEntries(CATALOG.map((kind) => [kind.name, { description: kind.description }])),
});

export const DistortionFamily = Object.fromEntries(FAMILIES.map((family) => [family, family])) as Record<string, string>;
registerEnumType(DistortionFamily, { name: 'DistortionFamily' });

@ObjectType({ description: 'How a severity in [0, 1] sets this parameter.' })
export class SeverityMappingView {
  @Field(() => Float, { description: 'Value at severity 0 (times the shorter side when perMinSide).' })
  from!: number;

  @Field(() => Float, { description: 'Value at severity 1 (times the shorter side when perMinSide).' })
  to!: number;

  @Field({ description: 'linear or log (geometric).' })
  curve!: string;

  @Field({ description: 'True when the value is a fraction of the image shorter side, in pixels.' })
  perMinSide!: boolean;
}

@ObjectType()
export class DistortionParamView {
  @Field()
  name!: string;

  @Field()
  unit!: string;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Float)
  default!: number;

  @Field()
  integer!: boolean;

  @Field(() => [Float], { nullable: true, description: 'The only values allowed, when not every value in range is.' })
  allowed!: number[] | null;

  @Field()
  description!: string;

  @Field(() => SeverityMappingView, { nullable: true, description: 'Null: severity leaves it at its default.' })
  severity!: SeverityMappingView | null;

  @Field(() => Int, { description: 'Decimal places values set by a severity are rounded to.' })
  decimals!: number;

  @Field({ description: 'An amount (its severity mapping scales it): naming one amount in a step leaves the others at their identity.' })
  amount!: boolean;
}

@ObjectType({ description: 'One kind of distortion: what it does, its parameters and its severity mapping.' })
export class DistortionKindView {
  @Field(() => DistortionKindName)
  name!: string;

  @Field(() => DistortionFamily)
  family!: string;

  @Field()
  description!: string;

  @Field({ description: 'Uses the seed.' })
  random!: boolean;

  @Field({ description: 'Acts on colour: applies to RGB images only (greyscale ones are refused).' })
  needsColor!: boolean;

  @Field(() => [DistortionParamView])
  params!: DistortionParamView[];

  @Field(() => String, { nullable: true, description: 'cnn family: the task of the registered model each step names.' })
  modelTask!: string | null;
}

@InputType({ description: 'One step of a distortion spec: explicit params, or a severity in [0, 1] (not both).' })
export class DistortionStepInput {
  @Field(() => DistortionKindName)
  kind!: string;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Parameter name -> value; missing ones take defaults.' })
  params?: Record<string, number> | null;

  @Field(() => Float, { nullable: true })
  severity?: number | null;

  @Field(() => String, { nullable: true, description: 'cnn family only: the registered model to run (of the kind\'s modelTask).' })
  model?: string | null;
}

export function catalogView(): DistortionKindView[] {
  return CATALOG.map((kind) => ({
    name: kind.name,
    family: kind.family,
    description: kind.description,
    random: kind.random,
    needsColor: kind.needsColor,
    modelTask: kind.model ?? null,
    params: kind.params.map((param) => {
      const mapping = kind.severity[param.name];
      return {
        ...param,
        integer: param.integer ?? false,
        allowed: param.allowed ? [...param.allowed] : null,
        decimals: decimalsOf(param),
        amount: mapping !== undefined,
        severity: mapping
          ? { from: mapping.from, to: mapping.to, curve: mapping.curve ?? 'linear', perMinSide: mapping.per === 'min_side' }
          : null,
      };
    }),
  }));
}

export enum BackendChoiceEnum {
  AUTO = 'AUTO',
  CPU = 'CPU',
  CUDA = 'CUDA',
}
registerEnumType(BackendChoiceEnum, {
  name: 'BackendChoice',
  description: 'AUTO: CUDA when built and a GPU is present, else CPU (the result says so).',
});

@InputType({ description: 'One kind at several severities: one spec per severity.' })
export class SeveritySweepInput {
  @Field(() => DistortionKindName)
  kind!: string;

  @Field(() => [Float])
  severities!: number[];

  @Field(() => String, { nullable: true, description: 'cnn family only: the registered model to run.' })
  model?: string | null;
}

@InputType()
export class DistortImagesInput {
  @Field(() => [ID], { nullable: true, description: 'Images to distort; or give datasetId (and filter).' })
  imageIds?: string[] | null;

  @Field(() => ID, { nullable: true })
  datasetId?: string | null;

  @Field(() => ImageFilter, { nullable: true })
  filter?: ImageFilter | null;

  @Field(() => Int, { nullable: true, description: 'At most this many images of the dataset (source-path order); default all.' })
  limit?: number | null;

  @Field(() => [[DistortionStepInput]], { nullable: true, description: 'Specs: each a chain of steps.' })
  specs?: DistortionStepInput[][] | null;

  @Field(() => SeveritySweepInput, { nullable: true })
  sweep?: SeveritySweepInput | null;

  @Field(() => Float, { defaultValue: 0, description: 'Integer seed in [0, 2^53 - 1].' })
  seed!: number;

  @Field(() => BackendChoiceEnum, { defaultValue: BackendChoiceEnum.AUTO })
  backend!: BackendChoiceEnum;
}

@ObjectType({ description: 'A distorted image that was not stored: for trying kinds in Sandbox.' })
export class DistortionPreview {
  @Field({ description: 'data:image/png;base64,... (16-bit stays 16-bit).' })
  dataUrl!: string;

  @Field(() => Int)
  width!: number;

  @Field(() => Int)
  height!: number;

  @Field(() => Int)
  channels!: number;

  @Field(() => Int)
  bitDepth!: number;

  @Field({ description: 'CPU or CUDA.' })
  backend!: string;

  @Field(() => String, { nullable: true, description: 'Why AUTO chose the CPU, when it did.' })
  note!: string | null;

  @Field(() => GraphQLJSON, { description: 'The resolved steps: exact parameters.' })
  steps!: unknown;
}
