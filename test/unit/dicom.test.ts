import { createHmac } from 'node:crypto';
import { chooseStoredMapping, decodeDicom } from '../../src/imaging/dicom/decode';
import { DICOM_ATTRIBUTE_ALLOW_LIST, deidentifyDicom, patientPseudonym } from '../../src/imaging/dicom/deidentify';
import { ingestImage } from '../../src/imaging/ingest';
import type { IngestOptions } from '../../src/imaging/types';
import { fixturePixels, makeDicom, type TransferSyntaxName } from '../helpers/dicom-fixtures';
import { expectImageError } from '../helpers/errors';
import { pngSamples } from '../helpers/files';

const KEY = Buffer.from('installation-secret-key');
const OPTS: IngestOptions = { maxPixels: 10_000_000, pseudonymKey: KEY };

describe('decodeDicom: transfer syntaxes', () => {
  const lossless: (TransferSyntaxName | string)[] = [
    'ImplicitVRLittleEndian',
    'ExplicitVRLittleEndian',
    'ExplicitVRBigEndian',
    'RleLossless',
    'JpegLosslessProcess14V1',
    'JpegLsLossless',
    'Jpeg2000Lossless',
    'HtJpeg2000Lossless',
    '1.2.840.10008.1.2.4.110', // JPEG XL lossless
  ];
  const shape = { width: 33, height: 21, bitsStored: 12 };
  const original = fixturePixels(shape);

  it.each(lossless)('decodes 12-bit %s to exactly the original samples, stored as 16 bit', async (syntax) => {
    const file = await makeDicom({ ...shape, transferSyntax: syntax });
    const decoded = await decodeDicom(file, OPTS);
    expect(decoded).toMatchObject({ bitDepth: 16, frameCount: 1 });
    expect(decoded.pixels).toMatchObject({ width: 33, height: 21, channels: 1 });
    expect(Array.from(decoded.pixels.data)).toEqual(original);

    const ingested = await ingestImage(file, OPTS);
    expect(ingested).toMatchObject({ format: 'dicom', width: 33, height: 21, channels: 1, bitDepth: 16 });
    const stored = await pngSamples(ingested.png);
    expect(stored.depth).toBe('ushort');
    expect(stored.data).toEqual(original);
    expect(Math.max(...stored.data)).toBe(4095); // 12-bit values above 255 survive
  });

  it.each(['JpegLsLossy', 'Jpeg2000Lossy'] as const)('decodes lossy %s close to the original', async (syntax) => {
    const smooth = Array.from({ length: 33 * 21 }, (_, i) => 1000 + (i % 33) * 50 + Math.floor(i / 33) * 20);
    const decoded = await decodeDicom(await makeDicom({ ...shape, pixels: smooth, transferSyntax: syntax }), OPTS);
    const worst = Math.max(...Array.from(decoded.pixels.data, (v, i) => Math.abs(v - smooth[i])));
    expect(worst).toBeLessThan(200);
  });

  it('decodes lossy JPEG baseline (8-bit) close to the original and stores it as 8 bit', async () => {
    const options = { width: 32, height: 32, bitsStored: 8, pixels: Array.from({ length: 1024 }, (_, i) => (i % 32) * 8) };
    const decoded = await decodeDicom(await makeDicom({ ...options, transferSyntax: 'JpegBaselineProcess1' }), OPTS);
    expect(decoded.bitDepth).toBe(8);
    const worst = Math.max(...Array.from(decoded.pixels.data, (v, i) => Math.abs(v - options.pixels[i])));
    expect(worst).toBeLessThan(12);
  });

  it('names an unsupported transfer syntax in an UNSUPPORTED_FORMAT error', async () => {
    const file = await makeDicom({ declaredTransferSyntax: '1.2.840.10008.1.2.4.51' });
    await expectImageError(ingestImage(file, OPTS), 'UNSUPPORTED_FORMAT', /JPEG Extended.*1\.2\.840\.10008\.1\.2\.4\.51/);
    const unknown = await makeDicom({ declaredTransferSyntax: '1.2.3.4.5.6' });
    await expectImageError(ingestImage(unknown, OPTS), 'UNSUPPORTED_FORMAT', /1\.2\.3\.4\.5\.6/);
  });
});

describe('decodeDicom: stored values', () => {
  it('inverts MONOCHROME1 so that brighter is higher, and moves the window with it', async () => {
    const options = { width: 16, height: 8, bitsStored: 12, photometric: 'MONOCHROME1', window: { center: 1000, width: 400 } };
    const decoded = await decodeDicom(await makeDicom(options), OPTS);
    expect(Array.from(decoded.pixels.data)).toEqual(fixturePixels(options).map((s) => 4095 - s));
    expect(decoded.window).toEqual({ center: 3095, width: 400 });
    expect(decoded.storedToModality).toEqual({ slope: -1, intercept: 4095 }); // m = 4095 - p
  });

  it('applies an integer rescale and keeps the offset needed to make values non-negative', async () => {
    const options = { bitsStored: 12, rescale: { slope: 1, intercept: -1024, type: 'HU' }, window: { center: 40, width: 400 } };
    const decoded = await decodeDicom(await makeDicom(options), OPTS);
    // m = s - 1024 spans -1024..3071, so p = m + 1024 = s.
    expect(Array.from(decoded.pixels.data)).toEqual(fixturePixels(options));
    expect(decoded.storedToModality).toEqual({ slope: 1, intercept: -1024 });
    expect(decoded.window).toEqual({ center: 1064, width: 400 });
  });

  it('stores rescaled values directly when they fit 0..65535 (slope 2, intercept 10)', async () => {
    const options = { bitsStored: 12, rescale: { slope: 2, intercept: 10 }, window: { center: 2010, width: 1000 } };
    const decoded = await decodeDicom(await makeDicom(options), OPTS);
    expect(Array.from(decoded.pixels.data)).toEqual(fixturePixels(options).map((s) => 2 * s + 10));
    expect(decoded.storedToModality).toEqual({ slope: 1, intercept: 0 });
    expect(decoded.window).toEqual({ center: 2010, width: 1000 });
  });

  it('keeps raw values for a fractional rescale (no rounding) and records the mapping', async () => {
    const options = { bitsStored: 12, rescale: { slope: 0.5, intercept: -3.25 }, window: { center: 100, width: 50 } };
    const decoded = await decodeDicom(await makeDicom(options), OPTS);
    expect(Array.from(decoded.pixels.data)).toEqual(fixturePixels(options));
    expect(decoded.storedToModality).toEqual({ slope: 0.5, intercept: -3.25 });
    expect(decoded.window).toEqual({ center: 206.5, width: 100 }); // (100 + 3.25) / 0.5
  });

  it('offsets signed data into the unsigned range (16-bit and 12-bit with sign-extended high bits)', async () => {
    const signed16 = { width: 10, height: 10, bitsStored: 16, signed: true, window: { center: -100, width: 300 } };
    const decoded16 = await decodeDicom(await makeDicom(signed16), OPTS);
    expect(Array.from(decoded16.pixels.data)).toEqual(fixturePixels(signed16).map((s) => s + 32768));
    expect(decoded16.storedToModality).toEqual({ slope: 1, intercept: -32768 });
    expect(decoded16.window).toEqual({ center: 32668, width: 300 });

    const signed12 = { width: 10, height: 10, bitsStored: 12, signed: true };
    expect(Math.min(...fixturePixels(signed12))).toBe(-2048);
    const decoded12 = await decodeDicom(await makeDicom({ ...signed12, transferSyntax: 'JpegLsLossless' }), OPTS);
    expect(Array.from(decoded12.pixels.data)).toEqual(fixturePixels(signed12).map((s) => s + 2048));
  });

  it('masks bits above BitsStored (overlay planes) before using the values', async () => {
    const base = fixturePixels({ bitsStored: 12 });
    const withOverlayBits = base.map((s, i) => s | (i % 3 === 0 ? 0xf000 : 0)); // high nibble garbage
    const decoded = await decodeDicom(await makeDicom({ bitsStored: 12, pixels: withOverlayBits }), OPTS);
    expect(Array.from(decoded.pixels.data)).toEqual(base);
  });

  it('stores 8-bit unsigned unscaled data as 8 bit', async () => {
    const options = { bitsStored: 8 };
    const file = await makeDicom(options);
    const ingested = await ingestImage(file, OPTS);
    expect(ingested.bitDepth).toBe(8);
    const stored = await pngSamples(ingested.png);
    expect(stored.depth).toBe('uchar');
    expect(stored.data).toEqual(fixturePixels(options));
  });

  it('uses the first value of a multi-valued window', async () => {
    const decoded = await decodeDicom(await makeDicom({ window: { center: [600, 1500], width: [800, 3000] } }), OPTS);
    expect(decoded.window).toEqual({ center: 600, width: 800 });
  });

  it('decodes only the first frame of a multi-frame file and reports the frame count', async () => {
    for (const syntax of ['ExplicitVRLittleEndian', 'RleLossless'] as const) {
      const options = { width: 12, height: 10, frames: 3, transferSyntax: syntax };
      const decoded = await decodeDicom(await makeDicom(options), OPTS);
      expect(decoded.frameCount).toBe(3);
      expect(Array.from(decoded.pixels.data)).toEqual(fixturePixels(options));
    }
  });

  it('decodes RGB, interleaved and planar, to interleaved samples', async () => {
    const rgb = Array.from({ length: 6 * 4 * 3 }, (_, i) => (i * 29) & 255);
    const planar: number[] = [];
    for (let c = 0; c < 3; c++) for (let p = 0; p < 24; p++) planar.push(rgb[3 * p + c]);
    for (const [pixels, isPlanar, syntax] of [
      [rgb, false, 'ExplicitVRLittleEndian'],
      [planar, true, 'ExplicitVRLittleEndian'],
      [rgb, false, 'RleLossless'],
    ] as const) {
      const file = await makeDicom({ width: 6, height: 4, samplesPerPixel: 3, planar: isPlanar, pixels, transferSyntax: syntax });
      const decoded = await decodeDicom(file, OPTS);
      expect(decoded).toMatchObject({ bitDepth: 8, window: null, storedToModality: null });
      expect(decoded.pixels.channels).toBe(3);
      expect(Array.from(decoded.pixels.data)).toEqual(rgb);
      const ingested = await ingestImage(file, OPTS);
      expect(ingested.channels).toBe(3);
      expect((await pngSamples(ingested.png)).data).toEqual(rgb);
    }
  });

  it('chooseStoredMapping follows the documented rule', () => {
    const mono2 = { bitsAllocated: 16 as const, bitsStored: 12, signed: false, photometric: 'MONOCHROME2' };
    expect(chooseStoredMapping(mono2, { slope: 1, intercept: 0 })).toEqual({ a: 1, b: 0, bitDepth: 16 });
    const mono1 = { ...mono2, photometric: 'MONOCHROME1' };
    expect(chooseStoredMapping(mono1, { slope: 1, intercept: 0 })).toEqual({ a: -1, b: 4095, bitDepth: 16 });
    // 16-bit unsigned with slope 2 would span 131070 values: raw values are kept.
    expect(chooseStoredMapping({ ...mono2, bitsStored: 16 }, { slope: 2, intercept: 0 })).toEqual({ a: 1, b: 0, bitDepth: 16 });
    // Negative slope on MONOCHROME2: higher modality value is brighter, so p follows m.
    expect(chooseStoredMapping(mono2, { slope: -1, intercept: 100 })).toEqual({ a: -1, b: 4095, bitDepth: 16 });
    const mono1Byte = { ...mono1, bitsAllocated: 8 as const, bitsStored: 8 };
    expect(chooseStoredMapping(mono1Byte, { slope: 1, intercept: 0 })).toEqual({ a: -1, b: 255, bitDepth: 8 });
  });
});

describe('decodeDicom: bad files', () => {
  it('reports a file without PixelData as NO_PIXEL_DATA', async () => {
    await expectImageError(ingestImage(await makeDicom({ omitPixelData: true }), OPTS), 'NO_PIXEL_DATA', /PixelData/);
  });

  it('reports truncated files as CORRUPT instead of zero-filling them (native and compressed)', async () => {
    const syntaxes = ['ExplicitVRLittleEndian', 'ImplicitVRLittleEndian', 'JpegLosslessProcess14V1', 'Jpeg2000Lossless'] as const;
    for (const syntax of syntaxes) {
      const file = await makeDicom({ width: 64, height: 64, transferSyntax: syntax });
      await expectImageError(ingestImage(file.subarray(0, Math.floor(file.length * 0.7)), OPTS), 'CORRUPT', /truncated/);
    }
    const file = await makeDicom({ width: 64, height: 64 });
    await expectImageError(ingestImage(file.subarray(0, 200), OPTS), 'CORRUPT');
  });

  it('handles nested sequences, and reports a cut inside one as truncated', async () => {
    const extra = {
      ProcedureCodeSequence: [{ CodeValue: 'RPID16', CodingSchemeDesignator: 'RADLEX', CodeMeaning: 'XR CHEST PA' }],
    };
    const file = await makeDicom({ width: 8, height: 8, extra });
    await expect(decodeDicom(file, OPTS)).resolves.toMatchObject({ pixels: { width: 8 } });
    const cut = file.indexOf(Buffer.from('RADLEX')) + 3;
    await expectImageError(ingestImage(file.subarray(0, cut), OPTS), 'CORRUPT', /truncated/);
  });

  it('applies the pixel limit before decoding', async () => {
    const file = await makeDicom({ width: 100, height: 100, transferSyntax: 'Jpeg2000Lossless' });
    await expectImageError(ingestImage(file, { ...OPTS, maxPixels: 9_999 }), 'TOO_LARGE', /100 x 100/);
  });

  it('reports garbage after the DICM marker as CORRUPT', async () => {
    const garbage = Buffer.alloc(2000, 0x41);
    garbage.write('DICM', 128, 'latin1');
    await expectImageError(ingestImage(garbage, OPTS), 'CORRUPT');
  });
});

describe('de-identification', () => {
  const identifying = {
    PatientName: 'Doe^Johnathan',
    PatientID: 'MRN-99812345',
    PatientBirthDate: '19630412',
    PatientAddress: '12 Rosewood Lane, Springfield',
    OtherPatientIDs: 'ALT-5550123',
    PatientSex: 'F',
    PatientAge: '061Y',
    InstitutionName: 'Springfield General Hospital',
    InstitutionAddress: '1 Hospital Road, Springfield',
    ReferringPhysicianName: 'House^Gregory',
    OperatorsName: 'Tech^Alice',
    AccessionNumber: 'ACC20240117',
    StudyInstanceUID: '1.2.826.0.1.3680043.8.498.11111',
    SeriesInstanceUID: '1.2.826.0.1.3680043.8.498.22222',
    SOPInstanceUID: '1.2.826.0.1.3680043.8.498.33333',
    StudyDate: '20240117',
    StudyTime: '134502',
    DeviceSerialNumber: 'SN-XR-0042',
    StationName: 'XRAYROOM3',
  };
  const technical = {
    BodyPartExamined: 'CHEST',
    ViewPosition: 'PA',
    PixelSpacing: [0.139, 0.139],
    KVP: 120,
    ExposureTime: 12,
    XRayTubeCurrent: 200,
    BurnedInAnnotation: 'NO',
    Manufacturer: 'Acme Imaging',
  };

  it('keeps no identifying value anywhere in the ingest result or the stored PNG', async () => {
    for (const syntax of ['ExplicitVRLittleEndian', 'JpegLosslessProcess14V1'] as const) {
      const window = { center: 2000, width: 4000 };
      const file = await makeDicom({ identifying, extra: technical, window, transferSyntax: syntax });
      for (const value of Object.values(identifying)) if (value.length > 1) expect(file.includes(value)).toBe(true);

      const result = await ingestImage(file, OPTS);
      const { png, ...facts } = result;
      const json = JSON.stringify(facts);
      for (const [keyword, value] of Object.entries(identifying)) {
        expect(json).not.toContain(keyword);
        if (value.length > 1) {
          expect(json).not.toContain(value);
          expect(png.includes(value)).toBe(false);
          expect(png.includes(Buffer.from(value, 'utf16le'))).toBe(false);
        }
      }
      expect(json).not.toContain('Acme'); // not on the allow-list either
      expect(result.dicom!.patientKey).toMatch(/^anon-[0-9a-f]{16}$/);
    }
  });

  it('keeps the allow-listed technical attributes, plus the derived pixel facts', async () => {
    const file = await makeDicom({ identifying, extra: technical, window: { center: 2000, width: 4000 } });
    const { attributes } = (await ingestImage(file, OPTS)).dicom!;
    expect(attributes).toMatchObject({
      Modality: 'DX',
      BodyPartExamined: 'CHEST',
      ViewPosition: 'PA',
      PixelSpacing: '0.139\\0.139',
      KVP: 120,
      Rows: 12,
      Columns: 16,
      BitsStored: 12,
      PhotometricInterpretation: 'MONOCHROME2',
      WindowCenter: 2000,
      WindowWidth: 4000,
      TransferSyntaxUID: '1.2.840.10008.1.2.1',
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1',
      BurnedInAnnotation: 'NO',
      NumberOfFrames: 1,
      StoredPixelRescaleSlope: 1,
      StoredPixelRescaleIntercept: 0,
    });
    const derived = ['StoredPixelRescaleSlope', 'StoredPixelRescaleIntercept'];
    for (const key of Object.keys(attributes)) {
      expect([...DICOM_ATTRIBUTE_ALLOW_LIST, ...derived]).toContain(key);
    }
  });

  it('derives the patient key as anon- + HMAC-SHA256(key, PatientID), first 16 hex digits', async () => {
    const expected = `anon-${createHmac('sha256', KEY).update('MRN-99812345').digest('hex').slice(0, 16)}`;
    const file = await makeDicom({ identifying });
    expect((await ingestImage(file, OPTS)).dicom!.patientKey).toBe(expected);
    expect(patientPseudonym('MRN-99812345', KEY)).toBe(expected);
    expect(patientPseudonym('MRN-99812345', Buffer.from('another installation'))).not.toBe(expected);
    expect(patientPseudonym('MRN-99812346', KEY)).not.toBe(expected);
    expect(patientPseudonym('  ', KEY)).toBeNull();
    expect((await ingestImage(await makeDicom({}), OPTS)).dicom!.patientKey).toBeNull();
  });

  it('drops values that are not short plain numbers or strings', () => {
    const { attributes } = deidentifyDicom(
      {
        Modality: 'DX',
        BodyPartExamined: 'x'.repeat(65), // free text riding in an allowed attribute
        ViewPosition: { Alphabetic: 'Doe^John' },
        PixelSpacing: [0.1, { nested: true }],
        KVP: Number.NaN,
        PatientName: 'Doe^John',
      },
      KEY,
    );
    expect(attributes).toEqual({ Modality: 'DX' });
  });
});
