import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Role } from '../platform/context';

@ObjectType({ description: 'One mutation or upload, as it was asked and how it ended. The log is append-only.' })
@Entity({ name: 'audit_log' })
export class AuditEntry {
  @Field(() => ID)
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Field()
  @Column({ type: 'timestamptz' })
  at!: Date;

  @Field(() => ID, { nullable: true, description: 'The token of the request; null without one.' })
  @Column({ name: 'token_id', type: 'uuid', nullable: true })
  tokenId!: string | null;

  @Field(() => Role, { nullable: true })
  @Column({ type: 'text', nullable: true })
  role!: Role | null;

  @Field({ description: 'The mutation (e.g. importDataset) or route (e.g. POST /upload).' })
  @Column({ type: 'text' })
  operation!: string;

  @Field(() => [String], { description: 'Ids the operation named or returned (datasets, jobs, images, tokens...).' })
  @Column({ name: 'affected_ids', type: 'text', array: true })
  affectedIds!: string[];

  @Field({ description: 'OK, or the error code (BAD_USER_INPUT, FORBIDDEN, UNAUTHENTICATED, INTERNAL_SERVER_ERROR...).' })
  @Column({ type: 'text' })
  outcome!: string;

  @Field(() => String, { nullable: true })
  @Column({ name: 'client_address', type: 'text', nullable: true })
  clientAddress!: string | null;
}
