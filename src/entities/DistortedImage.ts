import { Field, Float, ID, ObjectType } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { StoredRaster } from './StoredRaster';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@ObjectType({ implements: StoredRaster, description: 'A distorted version of an image, with the exact spec, seed and backend that made it.' })
@Entity({ name: 'distorted_images' })
export class DistortedImage extends StoredRaster {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field(() => ID, { description: 'The source image.' })
  @Column({ name: 'image_id', type: 'uuid' })
  imageId!: string;

  @Field(() => ID)
  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @Field(() => GraphQLJSON, { description: 'Resolved steps: [{kind, params, severity}], in the order applied.' })
  @Column({ type: 'jsonb' })
  steps!: Array<{ kind: string; params: Record<string, number>; severity: number | null }>;

  @Field(() => Float, { description: 'Seed of the counter-based random numbers (an integer below 2^53).' })
  @Column({ type: 'bigint', transformer: { to: (value: number) => value, from: (value: string) => Number(value) } })
  seed!: number;

  @Field({ description: 'CPU or CUDA.' })
  @Column({ type: 'text' })
  backend!: string;

  @Field({ description: 'SHA-256 of the stored PNG; also its blob name.' })
  @Column({ name: 'content_hash', type: 'char', length: 64 })
  contentHash!: string;

  /** SHA-256 of (steps, seed): the same distortion of the same image is stored once. */
  @Column({ name: 'spec_key', type: 'char', length: 64 })
  specKey!: string;

  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
