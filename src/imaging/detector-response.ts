/**
 * How an image's display values relate to the X-ray intensity its detector measured: the model the
 * detector-domain kinds (quantum_noise, scatter, grid_lines, exposure) use to go from display values to
 * detector signal and back. Display value v in [0, 1] (higher is brighter, after MONOCHROME1/2), u the
 * attenuation coordinate (u = v with polarity +1, u = 1 - v with polarity -1), T = I / I0 the transmitted
 * fraction of the unattenuated beam:
 *
 *   log     T = exp(-M u)     a radiograph as displayed (log-processed; Y = a log(X) + b), M = attenuationRange
 *   linear  T = 1 - u         a linear detector image (e.g. DICOM "for processing" with Pixel Intensity
 *                             Relationship LIN)
 *
 * Plain files (JPEG, PNG, ...) carry no such information: they get DEFAULT_RESPONSE, the processed
 * radiograph convention (log, brighter = more attenuation, M = 4 nepers: a display spanning transmissions
 * from 1 down to e^-4 = 1.8%, lungs to mediastinum of a chest PA).
 */

export type ResponseMapping = 'log' | 'linear';

export interface DetectorResponse {
  mapping: ResponseMapping;
  /** +1: brighter means more attenuation (less intensity), the radiograph convention; -1: brighter means more intensity. */
  polarity: 1 | -1;
  /** The attenuation in nepers (-ln T) from display 0 to display 1; used by the log mapping. */
  attenuationRange: number;
  /** Where mapping and polarity came from: the DICOM header, the default for files without one, or a client. */
  source: 'dicom' | 'default' | 'user';
}

export const DEFAULT_ATTENUATION_RANGE = 4;
export const ATTENUATION_RANGE_LIMITS = { min: 0.5, max: 12 } as const;

export const DEFAULT_RESPONSE: Readonly<DetectorResponse> = Object.freeze({
  mapping: 'log',
  polarity: 1,
  attenuationRange: DEFAULT_ATTENUATION_RANGE,
  source: 'default',
});

/** The kernels' parameters for a response (the detector-domain kinds' `response`, `polarity`, `attenuation_range`). */
export function responseParams(response: DetectorResponse | null | undefined): Record<'response' | 'polarity' | 'attenuation_range', number> {
  const r = response ?? DEFAULT_RESPONSE;
  return { response: r.mapping === 'log' ? 0 : 1, polarity: r.polarity, attenuation_range: r.attenuationRange };
}
