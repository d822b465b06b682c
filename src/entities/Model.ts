import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { ModelManifest } from '../models/manifest';

/** The manifest's task; the values are the manifest's own strings, the GraphQL names are upper case. */
export enum ModelTask {
  CLASSIFIER = 'classifier',
  DAE = 'dae',
  GAN_GENERATOR = 'gan-generator',
  BACKBONE = 'backbone',
}
registerEnumType(ModelTask, {
  name: 'ModelTask',
  valuesConfig: {
    CLASSIFIER: { description: 'ResNet50 chest-X-ray classifier; its feature maps are the perceptual metric.' },
    DAE: { description: 'Denoising autoencoder: a CNN-based distortion (expects its input already noisy).' },
    GAN_GENERATOR: { description: 'pix2pix generator trained to distort like one of the engine\'s distortions.' },
    BACKBONE: { description: 'A feature network exported for the lpips metric (e.g. ImageNet AlexNet, VGG or ResNet50 with LPIPS\'s lin weights).' },
  },
});

@ObjectType({ description: 'One graph input or output, as the manifest describes it.' })
export class ModelTensor {
  @Field()
  name!: string;

  @Field(() => [String], {
    description: 'Dimensions: sizes as decimal strings, names of dynamic ones ("batch", "height", "ceil(height/2)"), "?" when unknown.',
  })
  shape!: string[];

  @Field(() => String, { nullable: true })
  dtype!: string | null;

  @Field(() => String, { nullable: true })
  meaning!: string | null;
}

@ObjectType({
  description:
    'An ONNX model on the server with its manifest (registered from MEDPSIM_MODELS_DIR at start, or by registerModel). ' +
    'The name is unique: registering another file under the same name replaces the row.',
})
@Entity({ name: 'models' })
export class Model {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field({ description: "The manifest's name." })
  @Column({ type: 'text', unique: true })
  name!: string;

  @Field(() => ModelTask)
  @Column({ type: 'text' })
  task!: ModelTask;

  @Field({ description: 'Absolute path of the .onnx file on the server.' })
  @Column({ name: 'onnx_path', type: 'text' })
  path!: string;

  @Field({ description: 'SHA-256 of the .onnx file (checked against the manifest when registered).' })
  @Column({ type: 'char', length: 64 })
  sha256!: string;

  @Field(() => Float, { description: 'Size of the .onnx file in bytes.' })
  @Column({ name: 'size_bytes', type: 'bigint', transformer: { to: (value: number) => value, from: (value: string) => Number(value) } })
  sizeBytes!: number;

  @Field(() => GraphQLJSONObject, { description: 'The whole manifest, as the training package wrote it.' })
  @Column({ type: 'jsonb' })
  manifest!: ModelManifest;

  @Field({ description: 'When this name was first registered.' })
  @Column({ name: 'registered_at', type: 'timestamptz', default: () => 'now()' })
  registeredAt!: Date;

  @Field({ description: 'When the file, path or manifest last changed (re-registration with another hash).' })
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
