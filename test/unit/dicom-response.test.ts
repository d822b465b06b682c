/**
 * The detector response the DICOM decoder derives from Pixel Intensity Relationship (0028,1040) and its
 * Sign (0028,1041), with the stored mapping p = a * s + b (src/imaging/dicom/decode.ts): intensity rises
 * with p iff sign(a) * σ > 0, and then polarity is -1 (brighter = more intensity), else +1.
 */
import { dicomDetectorResponse, decodeDicom } from '../../src/imaging/dicom/decode';
import { DEFAULT_ATTENUATION_RANGE, DEFAULT_RESPONSE } from '../../src/imaging/detector-response';
import { ingestImage } from '../../src/imaging/ingest';
import type { IngestOptions } from '../../src/imaging/types';
import { makeDicom, type DicomFixtureOptions } from '../helpers/dicom-fixtures';
import { greyJpeg } from '../helpers/files';

const OPTS: IngestOptions = { maxPixels: 10_000_000, pseudonymKey: Buffer.from('installation-secret-key') };

function pir(relationship: string, sign?: number): Record<string, unknown> {
  return { PixelIntensityRelationship: relationship, ...(sign === undefined ? {} : { PixelIntensityRelationshipSign: sign }) };
}

async function responseOf(options: DicomFixtureOptions) {
  return (await decodeDicom(await makeDicom({ bitsStored: 12, ...options }), OPTS)).detectorResponse;
}

const dicom = (mapping: 'log' | 'linear', polarity: 1 | -1) => ({ mapping, polarity, attenuationRange: DEFAULT_ATTENUATION_RANGE, source: 'dicom' });

describe('decodeDicom: detector response from Pixel Intensity Relationship and its Sign', () => {
  it('LOG, sign +1, MONOCHROME2: polarity -1', async () => {
    // σ = +1: a higher stored value is more intensity; MONOCHROME2 keeps p = s (a = +1), so a brighter p is
    // more intensity: sign(a) * σ = +1 > 0.
    expect(await responseOf({ extra: pir('LOG', 1) })).toEqual(dicom('log', -1));
  });

  it('LOG, sign -1, MONOCHROME2: polarity +1 (the processed radiograph convention)', async () => {
    // σ = -1: a higher stored value is less intensity; p = s, so a brighter p is less intensity (more
    // attenuation): sign(a) * σ = -1 < 0.
    expect(await responseOf({ extra: pir('LOG', -1) })).toEqual(dicom('log', 1));
  });

  it('LIN, sign +1, MONOCHROME2: polarity -1 (a raw detector image: unattenuated areas bright)', async () => {
    // σ = +1 and p = s: a brighter p is more intensity; sign(a) * σ = +1 > 0.
    expect(await responseOf({ extra: pir('LIN', 1) })).toEqual(dicom('linear', -1));
  });

  it('LIN, sign -1, MONOCHROME2: polarity +1', async () => {
    // σ = -1 and p = s: a brighter p is less intensity; sign(a) * σ = -1 < 0.
    expect(await responseOf({ extra: pir('LIN', -1) })).toEqual(dicom('linear', 1));
  });

  it('MONOCHROME1 with LOG, sign -1: polarity -1 (the inversion flips it)', async () => {
    // σ = -1: a higher stored value is less intensity; MONOCHROME1 is stored as p = 4095 - s (a = -1), so a
    // brighter p is a lower s, which is more intensity: sign(a) * σ = (-1) * (-1) = +1 > 0.
    expect(await responseOf({ photometric: 'MONOCHROME1', extra: pir('LOG', -1) })).toEqual(dicom('log', -1));
  });

  it('no Pixel Intensity Relationship: DEFAULT_RESPONSE (polarity +1), whatever the sign says', async () => {
    // Nothing says how the values relate to intensity: the default, source 'default', even with a sign of +1
    // (which with LOG or LIN would give polarity -1).
    expect(await responseOf({})).toEqual(DEFAULT_RESPONSE);
    expect(await responseOf({ extra: { PixelIntensityRelationshipSign: 1 } })).toEqual(DEFAULT_RESPONSE);
    expect(await responseOf({ photometric: 'MONOCHROME1', extra: { PixelIntensityRelationshipSign: -1 } })).toEqual(DEFAULT_RESPONSE);
  });

  it('a value other than LOG or LIN counts as absent: DEFAULT_RESPONSE', async () => {
    // DISP (a display-ready, non-standard relationship) says nothing usable about intensity.
    expect(await responseOf({ extra: pir('DISP', 1) })).toEqual(DEFAULT_RESPONSE);
  });

  it('without a sign: -1 for LOG (polarity +1), +1 for LIN (polarity -1)', async () => {
    // The usual for processed images (LOG) is σ = -1; for linear detector data (LIN) σ = +1. With p = s:
    // LOG gives sign(a) * σ = -1 (polarity +1), LIN gives +1 (polarity -1).
    expect(await responseOf({ extra: pir('LOG') })).toEqual(dicom('log', 1));
    expect(await responseOf({ extra: pir('LIN') })).toEqual(dicom('linear', -1));
  });

  it("counts the rescale slope's sign in a", async () => {
    // Slope -1 (MONOCHROME2) stores p = -s + offset (a = -1): LIN with σ = +1 has a brighter p at a lower s,
    // less intensity: sign(a) * σ = -1 < 0, polarity +1.
    expect(await responseOf({ rescale: { slope: -1, intercept: 0 }, extra: pir('LIN', 1) })).toEqual(dicom('linear', 1));
  });

  it('follows the rule for every combination (the function itself)', () => {
    for (const relationship of ['LOG', 'LIN']) {
      for (const sign of [1, -1]) {
        for (const a of [3, 1, -1, -2]) {
          const expected = Math.sign(a) * sign > 0 ? -1 : 1;
          expect(dicomDetectorResponse(relationship, sign, a)).toEqual(dicom(relationship === 'LOG' ? 'log' : 'linear', expected));
        }
      }
    }
    expect(dicomDetectorResponse([' lin '], ['1'], 1)).toEqual(dicom('linear', -1)); // multi-valued, padded, as strings
    expect(dicomDetectorResponse(undefined, -1, -1)).toEqual(DEFAULT_RESPONSE);
    expect(dicomDetectorResponse('LOG', 0, 1)).toEqual(dicom('log', 1)); // an invalid sign: LOG's default, -1
  });

  it('decodes RGB as stored (a = +1)', async () => {
    // σ = +1 with the samples as they are: a brighter value is more intensity.
    expect(await responseOf({ samplesPerPixel: 3, bitsStored: 8, extra: pir('LOG', 1) })).toEqual(dicom('log', -1));
  });
});

describe('ingestImage: the detector response and its attributes', () => {
  it('returns the response and keeps both attributes among the de-identified ones', async () => {
    const file = await makeDicom({ bitsStored: 12, extra: pir('LIN', 1) });
    const ingested = await ingestImage(file, OPTS);
    expect(ingested.detectorResponse).toEqual(dicom('linear', -1));
    expect(ingested.dicom!.attributes).toMatchObject({ PixelIntensityRelationship: 'LIN', PixelIntensityRelationshipSign: 1 });
  });

  it('gives plain files none (the import decides)', async () => {
    expect((await ingestImage(await greyJpeg(16, 16), OPTS)).detectorResponse).toBeUndefined();
  });
});
