import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Role } from '../platform/context';

registerEnumType(Role, {
  name: 'Role',
  valuesConfig: {
    ADMIN: { description: 'Everything, accounts and tokens included.' },
    PIPELINE: { description: 'Imports, uploads, distortion and training jobs, model registration, scoring, exports; reads datasets, images, jobs.' },
    ANALYST: { description: 'Reads everything except secrets; starts scoring, analyses and exports.' },
    RATER: { description: 'A physician: their own assignments, judgments and progress only.' },
  },
});

export enum TokenOrigin {
  CREATED = 'CREATED',
  BOOTSTRAP = 'BOOTSTRAP',
  SANDBOX = 'SANDBOX',
  INVITATION = 'INVITATION',
}
registerEnumType(TokenOrigin, {
  name: 'TokenOrigin',
  valuesConfig: {
    CREATED: { description: 'createToken or medpsim token create.' },
    BOOTSTRAP: { description: 'Made at first start, in data/secrets/admin-token.' },
    SANDBOX: { description: 'Given to Apollo Sandbox in a browser on the server machine (expires within a day).' },
    INVITATION: { description: "A rater's, from an invitation code." },
  },
});

/** An API token; the secret itself is shown once at creation and stored only as its SHA-256. */
@ObjectType({ description: 'An API token (never its secret, which is shown once, at creation).' })
@Entity({ name: 'api_tokens' })
export class ApiToken {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field({ description: 'The start of the token (mpsim_xxxxxxxx), to tell tokens apart.' })
  @Column({ type: 'text', unique: true })
  prefix!: string;

  @Column({ name: 'secret_hash', type: 'bytea', select: false })
  secretHash!: Buffer;

  @Field()
  @Column({ type: 'text' })
  label!: string;

  @Field(() => Role)
  @Column({ type: 'text' })
  role!: Role;

  @Field(() => TokenOrigin)
  @Column({ type: 'text' })
  origin!: TokenOrigin;

  @Field(() => ID, { nullable: true, description: 'The rater of a RATER token.' })
  @Column({ name: 'rater_id', type: 'uuid', nullable: true })
  raterId!: string | null;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Field(() => ID, { nullable: true, description: 'The token that created this one.' })
  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy!: string | null;

  @Field(() => Date, { nullable: true })
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Last request with it (written at most once a minute).' })
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Field({ description: 'Neither revoked nor expired.' })
  get active(): boolean {
    return this.revokedAt === null && (this.expiresAt === null || this.expiresAt.getTime() > Date.now());
  }
}
