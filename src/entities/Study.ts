import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, ObjectType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Protocol } from '../studies/protocol';
import type { ExclusionRules } from '../studies/quality';

@ObjectType({ description: 'Test sets judged by a panel of raters under a protocol.' })
@Entity({ name: 'studies' })
export class Study {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field()
  @Column({ type: 'text' })
  name!: string;

  @Field(() => GraphQLJSONObject, { description: 'The stored protocol (schema 1): judgments per item, practice, sentinels, retests, breaks, window, JND timings.' })
  @Column({ type: 'jsonb' })
  protocol!: Protocol;

  @Field(() => Float, { description: 'Seed of the assignment, the orders and the left/right placements.' })
  @Column({ type: 'bigint' })
  seed!: number;

  @Field(() => GraphQLJSONObject, { description: 'Which raters analyses leave out (setStudyExclusions); exclusion never deletes data.' })
  @Column({ name: 'exclusion_rules', type: 'jsonb' })
  exclusionRules!: ExclusionRules;

  @Field({ description: 'OPEN (judging) or CLOSED.' })
  @Column({ type: 'text' })
  state!: string;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ name: 'closed_at', type: 'timestamptz', nullable: true })
  closedAt!: Date | null;
}
