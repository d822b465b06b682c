/** GraphQL inputs for detector responses (src/imaging/detector-response.ts; the output type is src/entities/DetectorResponse.ts). */
import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { DetectorResponseMapping } from '../entities/DetectorResponse';
import { ATTENUATION_RANGE_LIMITS, DEFAULT_ATTENUATION_RANGE, type ResponseMapping } from '../imaging/detector-response';

@InputType({ description: 'A detector response given by a client: stored with source USER.' })
export class DetectorResponseInput {
  @Field(() => DetectorResponseMapping)
  mapping!: ResponseMapping;

  @Field(() => Int, { description: '1: brighter means more attenuation (the radiograph convention); -1: brighter means more intensity.' })
  polarity!: number;

  @Field(() => Float, {
    nullable: true,
    description: `Attenuation in nepers from display value 0 to 1, in [${ATTENUATION_RANGE_LIMITS.min}, ${ATTENUATION_RANGE_LIMITS.max}]; default ${DEFAULT_ATTENUATION_RANGE}.`,
  })
  attenuationRange?: number | null;
}

@InputType({ description: 'The images to re-mark, exactly one of datasetId (all its images) and imageIds, and their response.' })
export class SetDetectorResponseInput {
  @Field(() => ID, { nullable: true, description: 'Every image of this dataset, DICOM ones included.' })
  datasetId?: string | null;

  @Field(() => [ID], { nullable: true, description: 'These images (at most 10000).' })
  imageIds?: string[] | null;

  @Field(() => DetectorResponseInput)
  response!: DetectorResponseInput;
}
