/** GraphQL types that are not database rows: connections, counts, inputs. */
import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { Image } from '../entities/Image';
import { DetectorResponseInput } from './detector-response';

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page.' })
  endCursor!: string | null;
}

@ObjectType()
export class ImageEdge {
  @Field()
  cursor!: string;

  @Field(() => Image)
  node!: Image;
}

@ObjectType({ description: 'A page of images in source-path order.' })
export class ImageConnection {
  // The page size is counted where the page is asked for (the `images` field), not again here.
  @Field(() => [ImageEdge], { complexity: ({ childComplexity }) => childComplexity })
  edges!: ImageEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'Number of images with one split and label (either may be null).' })
export class SplitLabelCount {
  @Field(() => String, { nullable: true })
  split!: string | null;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field(() => Int)
  count!: number;
}

@InputType({ description: 'Only images that match every given field.' })
export class ImageFilter {
  @Field(() => String, { nullable: true, description: 'train, test or val.' })
  split?: string | null;

  @Field(() => String, { nullable: true, description: 'e.g. NORMAL or PNEUMONIA.' })
  label?: string | null;
}

@InputType()
export class ImportDatasetInput {
  @Field({ description: 'Folder on the server: {train,test,val}/<LABEL>/*, <LABEL>/* or a flat folder.' })
  path!: string;

  @Field({ description: 'Dataset to import into; created if it does not exist.' })
  datasetName!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true, description: 'Split for files not under a split folder.' })
  split?: string | null;

  @Field(() => String, { nullable: true, description: 'Label for files not under a label folder.' })
  label?: string | null;

  @Field(() => DetectorResponseInput, {
    nullable: true,
    description:
      'Detector response of the plain files (JPEG, PNG, TIFF, WebP) of this import, stored with source USER; default: LOG, ' +
      'polarity 1, attenuationRange 4 (source DEFAULT). DICOM files always use their header (Pixel Intensity Relationship and its Sign).',
  })
  detectorResponse?: DetectorResponseInput | null;
}
