import { Field, ID, ObjectType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@ObjectType({ description: 'A named collection of images, e.g. one release of the pediatric pneumonia set.' })
@Entity({ name: 'datasets' })
export class Dataset {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field()
  @Column({ type: 'text', unique: true })
  name!: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Field({ description: 'True for generated phantoms (medpsim synth): not patient data.' })
  @Column({ type: 'boolean', default: false })
  synthetic!: boolean;

  @Field(() => String, { nullable: true, description: 'Folder of the last import into this dataset, on the server.' })
  @Column({ name: 'source_root', type: 'text', nullable: true })
  sourceRoot!: string | null;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
