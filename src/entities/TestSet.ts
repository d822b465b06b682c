import { GraphQLJSON, GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { TestSetDefinition } from '../testsets/definition';

export enum TestSetState {
  BUILDING = 'BUILDING',
  READY = 'READY',
  /** Its build failed or was cancelled, or some items failed (see the job). */
  FAILED = 'FAILED',
}
registerEnumType(TestSetState, { name: 'TestSetState' });

export enum TestSetKind {
  /** Reference, p0 and p1: which of p0 and p1 is closer to the reference. */
  TWO_AFC = 'TWO_AFC',
  /** A reference and a distorted copy (or the reference again): same or different. */
  JND = 'JND',
}
registerEnumType(TestSetKind, { name: 'TestSetKind' });

@ObjectType({ description: 'A set of 2AFC triplets or JND pairs, built from a definition and seed (or imported from a BAPPS-layout folder).' })
@Entity({ name: 'test_sets' })
export class TestSet {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field()
  @Column({ type: 'text' })
  name!: string;

  @Field(() => TestSetKind)
  @Column({ type: 'text' })
  kind!: TestSetKind;

  @Field({ description: 'BUILT (from a definition) or IMPORTED (a BAPPS-layout folder).' })
  @Column({ type: 'text' })
  origin!: string;

  @Field(() => Int, { description: 'Versions count up along clones (cloneTestSet).' })
  @Column({ type: 'int' })
  version!: number;

  @Field(() => ID, { nullable: true, description: 'The set this one was cloned from.' })
  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId!: string | null;

  @Field(() => GraphQLJSONObject, { description: 'The stored definition (schema 1), as normalised: building reads only this and the seed.' })
  @Column({ type: 'jsonb' })
  definition!: TestSetDefinition;

  @Field(() => Float)
  @Column({ type: 'bigint' })
  seed!: number;

  @Field(() => TestSetState)
  state!: TestSetState;

  @Field(() => ID, { nullable: true, description: 'The job that builds (or imports) it.' })
  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Field(() => Int, { description: 'Items of every role (items, sentinels, practice).' })
  @Column({ name: 'item_count', type: 'int' })
  itemCount!: number;

  @Field(() => Int, { nullable: true, description: 'Items whose build failed (see the job).' })
  failedItems!: number | null;

  @Field(() => String, { nullable: true, description: 'SHA-256 over every item (choices and image hashes), once READY: a rebuild from the same definition and seed has the same.' })
  @Column({ name: 'content_hash', type: 'char', length: 64, nullable: true })
  contentHash!: string | null;

  @Field(() => Date, { nullable: true, description: 'Set when a study started judging it: from then on it cannot change.' })
  @Column({ name: 'locked_at', type: 'timestamptz', nullable: true })
  lockedAt!: Date | null;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@ObjectType({ description: 'One triplet (2AFC) or pair (JND) of a test set, with every choice that made it. Raters never see this type.' })
@Entity({ name: 'test_set_items' })
export class TestSetItem {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field(() => ID)
  @Column({ name: 'test_set_id', type: 'uuid' })
  testSetId!: string;

  @Field(() => Int, { description: 'Index in the set (0-based): items first, then sentinels, then practice items.' })
  @Column({ type: 'int' })
  position!: number;

  @Field({ description: 'ITEM, SENTINEL (an obvious answer, for rater quality) or PRACTICE (shown with feedback, not analysed).' })
  @Column({ type: 'text' })
  role!: string;

  @Field({ description: 'e.g. traditional, cnn, xray, mixed, sentinel: what per-category figures group by.' })
  @Column({ type: 'text' })
  category!: string;

  @Field(() => String, { nullable: true, description: 'Split of the source image.' })
  @Column({ type: 'text', nullable: true })
  split!: string | null;

  @Field(() => ID, { nullable: true, description: 'The source image (null for imported sets).' })
  @Column({ name: 'image_id', type: 'uuid', nullable: true })
  imageId!: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: 'Where the unit is in the source: {mode, x, y, size, bodyFraction, tries} or the resized square.' })
  @Column({ type: 'jsonb', nullable: true })
  region!: Record<string, unknown> | null;

  @Field(() => GraphQLJSON, { nullable: true, description: "p0's distortion: {steps, seed, entry, resolved} (null: the reference itself, in JND)." })
  @Column({ name: 'p0_spec', type: 'jsonb', nullable: true })
  p0Spec!: Record<string, unknown> | null;

  @Field(() => GraphQLJSON, { nullable: true, description: "p1's distortion (null: an identical JND pair)." })
  @Column({ name: 'p1_spec', type: 'jsonb', nullable: true })
  p1Spec!: Record<string, unknown> | null;

  @Field(() => [String])
  @Column({ type: 'text', array: true })
  kinds!: string[];

  @Field({ description: 'JND: p1 is the reference again.' })
  @Column({ type: 'boolean' })
  identical!: boolean;

  @Field(() => String, { nullable: true, description: 'The obvious answer of sentinels and practice items: P0, P1 (closer), SAME or DIFFERENT.' })
  @Column({ type: 'text', nullable: true })
  expected!: string | null;

  refHash!: string | null;
  p0Hash!: string | null;
  p1Hash!: string | null;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'int', nullable: true })
  width!: number | null;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'int', nullable: true })
  height!: number | null;

  @Field(() => Int, { nullable: true, description: '1 (grey) or 3 (RGB).' })
  @Column({ type: 'smallint', nullable: true })
  channels!: number | null;

  @Field(() => Int, { nullable: true })
  @Column({ name: 'bit_depth', type: 'smallint', nullable: true })
  bitDepth!: number | null;

  @Field(() => Float, { nullable: true, description: 'Display window centre (stored units) the study shows the item with unless its protocol sets one.' })
  @Column({ name: 'window_center', type: 'double precision', nullable: true })
  windowCenter!: number | null;

  @Field(() => Float, { nullable: true })
  @Column({ name: 'window_width', type: 'double precision', nullable: true })
  windowWidth!: number | null;

  @Field(() => String, { nullable: true, description: 'Imported sets: the file name in the BAPPS folder.' })
  @Column({ name: 'source_name', type: 'text', nullable: true })
  sourceName!: string | null;

  @Field(() => Float, { nullable: true, description: 'Imported sets: the stored fraction (judge: chose p1; same: said same).' })
  @Column({ name: 'imported_judgment', type: 'double precision', nullable: true })
  importedJudgment!: number | null;

  @Field(() => Date, { nullable: true })
  @Column({ name: 'built_at', type: 'timestamptz', nullable: true })
  builtAt!: Date | null;
}
