/**
 * The GraphQL view of an image's detector response (src/imaging/detector-response.ts), kept in the images
 * table as jsonb in the TypeScript type's form ({ mapping: 'log', polarity: 1, attenuationRange: 4, source:
 * 'default' }). The enums map the stored lower-case values to GraphQL's upper-case names and back.
 */
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { DetectorResponse, ResponseMapping } from '../imaging/detector-response';

/** GraphQL name -> stored value. */
export const DetectorResponseMapping = { LOG: 'log', LINEAR: 'linear' } as const satisfies Record<string, ResponseMapping>;
registerEnumType(DetectorResponseMapping, {
  name: 'DetectorResponseMapping',
  description: 'How display values relate to the transmitted fraction T of the beam (attenuation coordinate u, see polarity).',
  valuesConfig: {
    LOG: { description: 'T = exp(-attenuationRange * u): a log-processed radiograph as displayed (DICOM Pixel Intensity Relationship LOG).' },
    LINEAR: { description: 'T = 1 - u: a linear detector image (DICOM Pixel Intensity Relationship LIN, e.g. "for processing").' },
  },
});

/** GraphQL name -> stored value. */
export const DetectorResponseSource = { DICOM: 'dicom', DEFAULT: 'default', USER: 'user' } as const satisfies Record<string, DetectorResponse['source']>;
registerEnumType(DetectorResponseSource, {
  name: 'DetectorResponseSource',
  valuesConfig: {
    DICOM: { description: 'From the DICOM header (Pixel Intensity Relationship and its Sign).' },
    DEFAULT: { description: 'The default for a file that says nothing (plain files, DICOM without Pixel Intensity Relationship).' },
    USER: { description: 'Given by a client: an import option or setDetectorResponse.' },
  },
});

@ObjectType('DetectorResponse', {
  description:
    'How the display values of an image relate to the X-ray intensity its detector measured: what the detector-domain ' +
    'distortions (quantum_noise, scatter, grid_lines, exposure) use to go from display values to detector signal and back.',
})
export class DetectorResponseView implements DetectorResponse {
  @Field(() => DetectorResponseMapping)
  mapping!: ResponseMapping;

  @Field(() => Int, {
    description: '+1: brighter means more attenuation (less intensity), the radiograph convention; -1: brighter means more intensity.',
  })
  polarity!: 1 | -1;

  @Field(() => Float, { description: 'Attenuation in nepers (-ln T) from display value 0 to 1; used by the LOG mapping.' })
  attenuationRange!: number;

  @Field(() => DetectorResponseSource, { description: 'Where mapping and polarity came from.' })
  source!: DetectorResponse['source'];
}
