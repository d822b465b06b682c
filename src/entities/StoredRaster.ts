import { Field, Int, InterfaceType } from 'type-graphql';
import { Column } from 'typeorm';

/** The shape of a stored PNG, shared by source and distorted images. */
@InterfaceType({ description: 'A stored PNG: size, channels and bit depth.' })
export abstract class StoredRaster {
  @Field(() => Int)
  @Column({ type: 'int' })
  width!: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  height!: number;

  @Field(() => Int, { description: '1 (grey) or 3 (RGB).' })
  @Column({ type: 'smallint' })
  channels!: number;

  @Field(() => Int, { description: '8 or 16: bits per sample of the stored PNG.' })
  @Column({ name: 'bit_depth', type: 'smallint' })
  bitDepth!: number;
}
