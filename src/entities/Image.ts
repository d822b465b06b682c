import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DEFAULT_RESPONSE, type DetectorResponse } from '../imaging/detector-response';
import { DetectorResponseView } from './DetectorResponse';
import { StoredRaster } from './StoredRaster';
import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

@ObjectType({ implements: StoredRaster, description: 'One stored image: a content-addressed PNG (8 or 16 bit) and what is known of its source.' })
@Entity({ name: 'images' })
@Unique('images_dataset_source_path', ['datasetId', 'sourcePath'])
@Index('images_dataset_split_label', ['datasetId', 'split', 'label', 'sourcePath'])
export class Image extends StoredRaster {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field(() => ID)
  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @Field(() => String, { nullable: true, description: 'train, test or val; null when the source had no split folders.' })
  @Column({ type: 'text', nullable: true })
  split!: string | null;

  @Field(() => String, { nullable: true, description: 'Class folder name, e.g. NORMAL or PNEUMONIA.' })
  @Column({ type: 'text', nullable: true })
  label!: string | null;

  @Field({ description: 'Path of the source file relative to the imported folder (or the uploaded file name).' })
  @Column({ name: 'source_path', type: 'text' })
  sourcePath!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Patient id parsed from the file name (e.g. person12), or a pseudonym (anon-...) for DICOM.',
  })
  @Column({ name: 'patient_id', type: 'text', nullable: true })
  patientId!: string | null;

  @Field({ description: 'Format of the source file: jpeg, png, tiff, webp or dicom.' })
  @Column({ type: 'text' })
  format!: string;

  @Field({ description: 'SHA-256 of the source file bytes; also the name of the stored blob.' })
  @Column({ name: 'content_hash', type: 'char', length: 64 })
  contentHash!: string;

  @Field(() => Int)
  @Column({ name: 'byte_size', type: 'int' })
  byteSize!: number;

  @Field(() => Number, { nullable: true, description: 'Default display window centre, in stored pixel units.' })
  @Column({ name: 'window_center', type: 'double precision', nullable: true })
  windowCenter!: number | null;

  @Field(() => Number, { nullable: true })
  @Column({ name: 'window_width', type: 'double precision', nullable: true })
  windowWidth!: number | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'De-identified DICOM attributes (allow-list).' })
  @Column({ name: 'dicom_attributes', type: 'jsonb', nullable: true })
  dicomAttributes!: Record<string, string | number> | null;

  @Field(() => DetectorResponseView, {
    description:
      'How its display values relate to the detected X-ray intensity: from the DICOM header (Pixel Intensity Relationship ' +
      'and its Sign), the import option for plain files, setDetectorResponse, or the default (LOG, polarity +1, attenuationRange 4).',
  })
  @Column({ name: 'detector_response', type: 'jsonb', default: () => `'${JSON.stringify(DEFAULT_RESPONSE)}'::jsonb` })
  detectorResponse!: DetectorResponse;

  @Field()
  @Column({ type: 'boolean', default: false })
  synthetic!: boolean;

  /** The import job that created the row: a retried chunk recognises its own work by it. */
  @Column({ name: 'import_job_id', type: 'uuid', nullable: true })
  importJobId!: string | null;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
