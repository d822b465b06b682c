import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Role } from '../platform/context';
import { Allow } from '../schema/guards';

@ObjectType({ description: 'A physician who judges test items. Exports and analyses name raters by pseudonym only.' })
@Entity({ name: 'raters' })
export class Rater {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field({ description: 'Stable pseudonym (e.g. R-7f3a2c): what exports, analyses and figures show.' })
  @Column({ type: 'text', unique: true })
  pseudonym!: string;

  @Allow(Role.ADMIN)
  @Field({ description: 'Name or pseudonym as given at creation; only ADMIN sees it.' })
  @Column({ name: 'display_name', type: 'text' })
  displayName!: string;

  @Field(() => String, { nullable: true, description: 'e.g. radiology, pediatrics (reader studies report it).' })
  @Column({ type: 'text', nullable: true })
  specialty!: string | null;

  @Field(() => Int, { nullable: true, description: 'Years of experience reading such images.' })
  @Column({ name: 'years_of_experience', type: 'int', nullable: true })
  yearsOfExperience!: number | null;

  @Field({ description: 'A simulated rater (medpsim simulate-panel): its judgments are left out of analyses unless asked for.' })
  @Column({ type: 'boolean', default: false })
  simulated!: boolean;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
