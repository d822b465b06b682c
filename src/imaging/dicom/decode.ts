/**
 * Decodes the first frame of a DICOM Part-10 file into the pixels we store.
 *
 * Supported transfer syntaxes: implicit/explicit VR little endian, explicit VR big endian, RLE lossless,
 * JPEG baseline, JPEG lossless (process 14, selection value 1), JPEG-LS (lossless and near-lossless),
 * JPEG 2000 (lossless and lossy), HTJ2K and JPEG XL (via dcmjs-codecs, WebAssembly).
 * Pixel layouts: SamplesPerPixel 1 (MONOCHROME1/2) or 3 (RGB; YBR_* only from JPEG-family syntaxes,
 * whose decoders return RGB), BitsAllocated 8 or 16, any BitsStored/HighBit, signed or unsigned.
 *
 * STORED VALUE RULE (greyscale). Let s be the stored sample (masked to BitsStored, sign-extended when
 * PixelRepresentation = 1) and m = RescaleSlope * s + RescaleIntercept the modality value (slope 1 and
 * intercept 0 when absent). The PNG holds p = a * s + b with integers a, b chosen as follows:
 *   1. d = -1 for MONOCHROME1, +1 otherwise, so that a higher p is always displayed brighter.
 *   2. "Rescale applied": if slope and intercept are integers and d * m spans at most 65536 values over
 *      the full range of s (from BitsStored and PixelRepresentation, not from this image's content):
 *      a = d * slope, u = d * m = a * s + d * intercept.
 *      "Raw values": otherwise (a fractional rescale would have to be rounded, or the range is too wide
 *      for 16 bits): a = +1 or -1 with the sign of d * slope, u = a * s. The rescale is not applied to
 *      the pixels (that would lose values); it is kept in the mapping below.
 *   3. offset = 0 when u over that full range lies within 0..65535, else offset = the minimum of u
 *      (so p = u - offset starts at 0). b = (d * intercept when the rescale is applied, else 0) - offset.
 *   e.g. 12-bit unsigned MONOCHROME2, slope 1 / intercept 0: p = s.  MONOCHROME1 of the same: p = 4095 - s.
 *   16-bit signed: p = s + 32768.  CT-like 12-bit, intercept -1024: p = s (m = p - 1024).
 * The PNG is 8-bit when BitsAllocated is 8 and p fits 0..255, else 16-bit.
 * Modality values are recovered as m = StoredPixelRescaleSlope * p + StoredPixelRescaleIntercept
 * (= slope / a and intercept - slope * b / a; kept with the attributes).
 * The default window is WindowCenter/WindowWidth (first value when multi-valued), given by DICOM in
 * modality units, mapped through the same transform: center' = a * (c - intercept) / slope + b,
 * width' = |a / slope| * w.
 * RGB samples are stored as they are (no rescale, no window).
 *
 * DETECTOR RESPONSE (see ../detector-response.ts). Pixel Intensity Relationship (0028,1040) LOG or LIN
 * gives the mapping (log or linear); Pixel Intensity Relationship Sign (0028,1041) σ says how stored values
 * s relate to the X-ray beam intensity: +1, a lower s is less intensity; -1, a higher s is less intensity
 * (absent or invalid: -1 for LOG, the usual for processed images, +1 for LIN). The intensity rises with
 * the stored display value p = a * s + b iff sign(a) * σ > 0 (a carries MONOCHROME1's inversion and the
 * rescale slope's sign); then polarity is -1 (brighter = more intensity), else +1 (brighter = less
 * intensity, the radiograph convention). RGB counts as a = +1. Without LOG or LIN (absent or another
 * value) the image gets DEFAULT_RESPONSE whatever its sign; the attenuation range is always
 * DEFAULT_ATTENUATION_RANGE (DICOM has no standard attribute for it).
 */
import { types } from 'node:util';
import { log as dcmjsLog } from 'dcmjs';
import { constants, NativeCodecs, Transcoder } from 'dcmjs-codecs';
import { DEFAULT_ATTENUATION_RANGE, DEFAULT_RESPONSE, type DetectorResponse } from '../detector-response';
import { assertWithinPixelLimit } from '../limits';
import type { RawPixels } from '../png';
import { uint16View } from '../pixels';
import { ImageError, type BitDepth, type DisplayWindow } from '../types';
import {
  checkDatasetStructure,
  DicomStructureError,
  EXPLICIT_VR_LITTLE_ENDIAN,
  readPart10Meta,
  type Part10Meta,
} from './structure';

// dcmjs reports every implicit-VR PixelData ("ox" in its dictionary) as an error on the console.
dcmjsLog.getLogger('validation.dcmjs').setLevel('silent');

const { TransferSyntax } = constants;

/** Transfer syntaxes dcmjs-codecs can turn into explicit VR little endian, with readable names. */
const SUPPORTED_SYNTAXES: Record<string, string> = {
  [TransferSyntax.ImplicitVRLittleEndian]: 'Implicit VR Little Endian',
  [TransferSyntax.ExplicitVRLittleEndian]: 'Explicit VR Little Endian',
  [TransferSyntax.ExplicitVRBigEndian]: 'Explicit VR Big Endian',
  [TransferSyntax.RleLossless]: 'RLE Lossless',
  [TransferSyntax.JpegBaselineProcess1]: 'JPEG Baseline',
  [TransferSyntax.JpegLosslessProcess14V1]: 'JPEG Lossless (Process 14, SV1)',
  [TransferSyntax.JpegLsLossless]: 'JPEG-LS Lossless',
  [TransferSyntax.JpegLsLossy]: 'JPEG-LS Near-Lossless',
  [TransferSyntax.Jpeg2000Lossless]: 'JPEG 2000 Lossless',
  [TransferSyntax.Jpeg2000Lossy]: 'JPEG 2000',
  [TransferSyntax.HtJpeg2000Lossless]: 'HTJ2K Lossless',
  [TransferSyntax.HtJpeg2000LosslessRpcl]: 'HTJ2K Lossless RPCL',
  [TransferSyntax.HtJpeg2000Lossy]: 'HTJ2K',
  '1.2.840.10008.1.2.4.110': 'JPEG XL Lossless',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
};

/** Names for common syntaxes we cannot decode, so the error says what the file is. */
const UNSUPPORTED_SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless (Process 14)',
  '1.2.840.10008.1.2.4.100': 'MPEG-2',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.107': 'HEVC/H.265',
  '1.2.840.10008.1.2.4.111': 'JPEG XL JPEG Recompression',
};

const NATIVE_SYNTAXES = new Set([
  TransferSyntax.ImplicitVRLittleEndian,
  TransferSyntax.ExplicitVRLittleEndian,
  TransferSyntax.ExplicitVRBigEndian,
]);

export interface DecodedDicom {
  /** First frame, interleaved samples in stored units (see the rule above); 16-bit as Uint16Array. */
  pixels: RawPixels;
  bitDepth: BitDepth;
  /** Default window in stored units, or null when the file has none (or is RGB). */
  window: DisplayWindow | null;
  /** NumberOfFrames in the file (only the first frame is decoded). */
  frameCount: number;
  transferSyntaxUID: string;
  /** m = slope * p + intercept recovers modality values from stored ones; null for RGB. */
  storedToModality: { slope: number; intercept: number } | null;
  /** How the stored values relate to the detected X-ray intensity (the rule above); source 'dicom' when the
   * file has Pixel Intensity Relationship LOG or LIN, else DEFAULT_RESPONSE (source 'default'). */
  detectorResponse: DetectorResponse;
  /** The whole data set as dcmjs naturalizes it, IDENTIFYING ATTRIBUTES INCLUDED: pass it through
   * deidentifyDicom() and never store or log it. PixelData is removed. */
  dataset: Record<string, unknown>;
}

export async function decodeDicom(buf: Buffer, opts: { maxPixels: number }): Promise<DecodedDicom> {
  const meta = readMeta(buf);
  const syntax = meta.transferSyntaxUID;
  const syntaxName = SUPPORTED_SYNTAXES[syntax];
  if (!syntaxName) throw unsupportedSyntax(syntax);
  const described = `${syntaxName} (${syntax})`;

  const structure = checkDatasetStructure(buf, meta);
  if (structure.truncation) throw new ImageError('CORRUPT', `DICOM file is truncated or malformed: ${structure.truncation}`);
  if (!structure.hasPixelData) throw noPixelData();

  const transcoder = parse(buf, described);
  const elements = transcoder.getElements();
  const { PixelData: pixelData, ...dataset } = elements;
  if (pixelData === undefined) throw noPixelData();
  const layout = readLayout(elements, syntax);
  assertWithinPixelLimit(layout.columns, layout.rows, opts.maxPixels, 'DICOM image');
  const frameCount = positiveInteger(elements.NumberOfFrames) ?? 1;
  keepFirstFrameOnly(elements, layout, frameCount);

  const frame = await decodeFirstFrame(transcoder, syntax, described, layout);
  const base = { frameCount, transferSyntaxUID: syntax, dataset };
  if (layout.samplesPerPixel === 3) {
    // Codecs may interleave planar data while decoding: take the layout they report.
    const decoded = readLayout(transcoder.getElements(), syntax);
    const bitDepth: BitDepth = layout.bitsAllocated === 8 ? 8 : 16;
    const detectorResponse = dicomDetectorResponse(elements.PixelIntensityRelationship, elements.PixelIntensityRelationshipSign, 1);
    return { ...base, pixels: colourPixels(frame, decoded), bitDepth, window: null, storedToModality: null, detectorResponse };
  }
  return { ...base, ...greyPixels(frame, layout, elements) };
}

// ---------------------------------------------------------------- parsing and decoding

function readMeta(buf: Buffer): Part10Meta {
  try {
    return readPart10Meta(buf);
  } catch (error) {
    if (error instanceof DicomStructureError) {
      throw new ImageError('CORRUPT', `DICOM file meta information is unreadable: ${error.message}`);
    }
    throw error;
  }
}

function unsupportedSyntax(uid: string): ImageError {
  const name = UNSUPPORTED_SYNTAX_NAMES[uid];
  return new ImageError(
    'UNSUPPORTED_FORMAT',
    `DICOM transfer syntax ${name ? `${name} (${uid})` : uid} is not supported; ` +
      'convert the file to an uncompressed, RLE, JPEG lossless, JPEG-LS or JPEG 2000 syntax',
  );
}

function noPixelData(): ImageError {
  return new ImageError(
    'NO_PIXEL_DATA',
    'DICOM file has no PixelData (7FE0,0010): it is not an image (e.g. a report or presentation state)',
  );
}

function parse(buf: Buffer, described: string): Transcoder {
  try {
    const arrayBuffer = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    return new Transcoder(arrayBuffer);
  } catch (error) {
    throw new ImageError('CORRUPT', `DICOM file (${described}) could not be parsed: ${messageOf(error)}`);
  }
}

let codecsReady: Promise<void> | null = null;

/** The WebAssembly codecs load once, on the first compressed file. */
function ensureCodecs(): Promise<void> {
  codecsReady ??= NativeCodecs.initializeAsync().catch((error: unknown) => {
    codecsReady = null;
    throw error;
  });
  return codecsReady;
}

interface Layout {
  rows: number;
  columns: number;
  samplesPerPixel: 1 | 3;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  planar: boolean;
  photometric: string;
}

function readLayout(elements: Record<string, unknown>, syntax: string): Layout {
  const rows = positiveInteger(elements.Rows);
  const columns = positiveInteger(elements.Columns);
  if (!rows || !columns) throw new ImageError('CORRUPT', 'DICOM file has PixelData but no valid Rows/Columns');
  const samplesPerPixel = positiveInteger(elements.SamplesPerPixel) ?? 1;
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) {
    throw new ImageError('UNSUPPORTED_FORMAT', `DICOM SamplesPerPixel ${samplesPerPixel} is not supported (only 1 or 3)`);
  }
  const bitsAllocated = positiveInteger(elements.BitsAllocated);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    const given = String(elements.BitsAllocated);
    throw new ImageError('UNSUPPORTED_FORMAT', `DICOM BitsAllocated ${given} is not supported (only 8 or 16)`);
  }
  const bitsStored = Math.min(positiveInteger(elements.BitsStored) ?? bitsAllocated, bitsAllocated);
  const highBit = Math.min(integer(elements.HighBit) ?? bitsStored - 1, bitsAllocated - 1);
  const defaultPhotometric = samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB';
  const photometric = String(firstValue(elements.PhotometricInterpretation) ?? defaultPhotometric).trim();
  checkPhotometric(photometric, samplesPerPixel, syntax);
  return {
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    highBit: Math.max(highBit, bitsStored - 1),
    signed: integer(elements.PixelRepresentation) === 1,
    planar: integer(elements.PlanarConfiguration) === 1,
    photometric,
  };
}

/** JPEG-family decoders return RGB for YBR_* colour; RLE and native YBR would need a conversion we lack. */
const RGB_DECODING_SYNTAXES = new Set([
  TransferSyntax.JpegBaselineProcess1,
  TransferSyntax.JpegLosslessProcess14V1,
  TransferSyntax.JpegLsLossless,
  TransferSyntax.JpegLsLossy,
  TransferSyntax.Jpeg2000Lossless,
  TransferSyntax.Jpeg2000Lossy,
  TransferSyntax.HtJpeg2000Lossless,
  TransferSyntax.HtJpeg2000LosslessRpcl,
  TransferSyntax.HtJpeg2000Lossy,
]);

function checkPhotometric(photometric: string, samplesPerPixel: number, syntax: string): void {
  const grey = photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2';
  const colour = photometric === 'RGB' || (photometric.startsWith('YBR_') && RGB_DECODING_SYNTAXES.has(syntax));
  if ((samplesPerPixel === 1 && grey) || (samplesPerPixel === 3 && colour)) return;
  throw new ImageError(
    'UNSUPPORTED_FORMAT',
    `DICOM PhotometricInterpretation ${photometric} with ${samplesPerPixel} sample(s) per pixel ` +
      `is not supported in ${SUPPORTED_SYNTAXES[syntax] ?? syntax}`,
  );
}

/** Multi-frame files: drop frames 2..n before decoding so a long series costs one frame of memory. */
function keepFirstFrameOnly(elements: Record<string, unknown>, layout: Layout, frameCount: number): void {
  const pixelData = elements.PixelData;
  if (frameCount <= 1 || !Array.isArray(pixelData)) return;
  if (pixelData.length === frameCount) {
    elements.PixelData = [pixelData[0]]; // encapsulated: one entry per frame
  } else if (pixelData.length === 1 && types.isArrayBuffer(pixelData[0])) {
    elements.PixelData = [pixelData[0].slice(0, frameBytes(layout))]; // native: frames back to back
  } else {
    return; // fragments without an offset table: leave the frame split to the codec
  }
  elements.NumberOfFrames = 1;
}

function frameBytes(layout: Layout): number {
  return layout.rows * layout.columns * layout.samplesPerPixel * (layout.bitsAllocated / 8);
}

async function decodeFirstFrame(transcoder: Transcoder, syntax: string, described: string, layout: Layout): Promise<Uint8Array> {
  if (!NATIVE_SYNTAXES.has(syntax)) await ensureCodecs();
  try {
    transcoder.transcode(EXPLICIT_VR_LITTLE_ENDIAN);
  } catch (error) {
    throw new ImageError('CORRUPT', `DICOM pixel data (${described}) could not be decoded: ${messageOf(error)}`);
  }
  const bytes = concatFirstBytes(transcoder.getElements().PixelData, frameBytes(layout));
  if (bytes.byteLength < frameBytes(layout)) {
    throw new ImageError(
      'CORRUPT',
      `DICOM pixel data (${described}) holds ${bytes.byteLength} bytes, fewer than the ${frameBytes(layout)} ` +
        `that ${layout.columns} x ${layout.rows} x ${layout.samplesPerPixel} samples of ${layout.bitsAllocated} bits need`,
    );
  }
  return bytes;
}

/** The first `size` bytes of PixelData, which dcmjs gives as one or more ArrayBuffers. */
function concatFirstBytes(pixelData: unknown, size: number): Uint8Array {
  // util.types.isArrayBuffer, not instanceof: the buffers may come from another realm (e.g. under jest).
  const parts = (Array.isArray(pixelData) ? pixelData : [pixelData]).filter((p): p is ArrayBuffer => types.isArrayBuffer(p));
  if (parts.length > 0 && parts[0].byteLength >= size) return new Uint8Array(parts[0], 0, size);
  const out = new Uint8Array(Math.min(size, parts.reduce((n, p) => n + p.byteLength, 0)));
  let offset = 0;
  for (const part of parts) {
    if (offset >= out.length) break;
    const take = Math.min(part.byteLength, out.length - offset);
    out.set(new Uint8Array(part, 0, take), offset);
    offset += take;
  }
  return out;
}

// ---------------------------------------------------------------- sample values

/** Stored samples as integers: masked to BitsStored (other bits may hold overlays) and sign-extended. */
function storedSamples(frame: Uint8Array, layout: Layout): Int32Array {
  const count = layout.rows * layout.columns * layout.samplesPerPixel;
  const raw = layout.bitsAllocated === 16 ? uint16View(frame) : frame; // little endian after transcoding
  const shift = layout.highBit + 1 - layout.bitsStored;
  const mask = 2 ** layout.bitsStored - 1;
  const signBit = 2 ** (layout.bitsStored - 1);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let v = (raw[i] >>> shift) & mask;
    if (layout.signed && v >= signBit) v -= 2 * signBit;
    out[i] = v;
  }
  return out;
}

interface GreyResult {
  pixels: RawPixels;
  bitDepth: BitDepth;
  window: DisplayWindow | null;
  storedToModality: { slope: number; intercept: number };
  detectorResponse: DetectorResponse;
}

function greyPixels(frame: Uint8Array, layout: Layout, elements: Record<string, unknown>): GreyResult {
  const rescale = {
    slope: finiteNumber(firstValue(elements.RescaleSlope)) || 1, // 0 is invalid; treat like absent
    intercept: finiteNumber(firstValue(elements.RescaleIntercept)) ?? 0,
  };
  const mapping = chooseStoredMapping(layout, rescale);
  const samples = storedSamples(frame, layout);
  const data = mapping.bitDepth === 8 ? new Uint8Array(samples.length) : new Uint16Array(samples.length);
  for (let i = 0; i < samples.length; i++) data[i] = mapping.a * samples[i] + mapping.b;
  return {
    pixels: { data, width: layout.columns, height: layout.rows, channels: 1 },
    bitDepth: mapping.bitDepth,
    window: storedWindow(elements, rescale, mapping),
    storedToModality: {
      slope: rescale.slope / mapping.a,
      intercept: rescale.intercept - (rescale.slope * mapping.b) / mapping.a,
    },
    detectorResponse: dicomDetectorResponse(elements.PixelIntensityRelationship, elements.PixelIntensityRelationshipSign, mapping.a),
  };
}

/**
 * The detector response rule at the top of this file, as code: `relationship` and `sign` are the values of
 * 0028,1040 and 0028,1041 as dcmjs gives them, `a` the factor of p = a * s + b (only its sign counts).
 * Exported for tests.
 */
export function dicomDetectorResponse(relationship: unknown, sign: unknown, a: number): DetectorResponse {
  const value = firstValue(relationship);
  const pir = typeof value === 'string' ? value.trim().toUpperCase() : '';
  if (pir !== 'LOG' && pir !== 'LIN') return { ...DEFAULT_RESPONSE };
  const given = integer(sign);
  const sigma = given === 1 || given === -1 ? given : pir === 'LOG' ? -1 : 1;
  const intensityRisesWithP = Math.sign(a) * sigma > 0;
  return {
    mapping: pir === 'LOG' ? 'log' : 'linear',
    polarity: intensityRisesWithP ? -1 : 1,
    attenuationRange: DEFAULT_ATTENUATION_RANGE,
    source: 'dicom',
  };
}

export interface StoredMapping {
  /** p = a * s + b */
  a: number;
  b: number;
  bitDepth: BitDepth;
}

/** The rule at the top of this file, as code. Exported for tests. */
export function chooseStoredMapping(
  layout: Pick<Layout, 'bitsAllocated' | 'bitsStored' | 'signed' | 'photometric'>,
  rescale: { slope: number; intercept: number },
): StoredMapping {
  const d = layout.photometric === 'MONOCHROME1' ? -1 : 1;
  const sMin = layout.signed ? -(2 ** (layout.bitsStored - 1)) : 0;
  const sMax = layout.signed ? 2 ** (layout.bitsStored - 1) - 1 : 2 ** layout.bitsStored - 1;
  const integral = Number.isInteger(rescale.slope) && Number.isInteger(rescale.intercept);
  let a = d * rescale.slope;
  let b0 = d * rescale.intercept;
  if (!integral || Math.abs(a) * (sMax - sMin) > 65535) {
    a = Math.sign(a);
    b0 = 0;
  }
  const uMin = Math.min(a * sMin, a * sMax) + b0;
  const uMax = Math.max(a * sMin, a * sMax) + b0;
  const offset = uMin >= 0 && uMax <= 65535 ? 0 : uMin;
  const b = b0 - offset;
  const bitDepth: BitDepth = layout.bitsAllocated === 8 && uMax - offset <= 255 ? 8 : 16;
  return { a, b, bitDepth };
}

function storedWindow(
  elements: Record<string, unknown>,
  rescale: { slope: number; intercept: number },
  mapping: StoredMapping,
): DisplayWindow | null {
  const center = finiteNumber(firstValue(elements.WindowCenter));
  const width = finiteNumber(firstValue(elements.WindowWidth));
  if (center === null || width === null || width <= 0) return null;
  const scale = mapping.a / rescale.slope;
  return { center: scale * (center - rescale.intercept) + mapping.b, width: Math.abs(scale) * width };
}

function colourPixels(frame: Uint8Array, layout: Layout): RawPixels {
  const samples = storedSamples(frame, { ...layout, signed: false });
  const count = layout.rows * layout.columns;
  const data = layout.bitsAllocated === 8 ? new Uint8Array(3 * count) : new Uint16Array(3 * count);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) data[3 * i + c] = layout.planar ? samples[c * count + i] : samples[3 * i + c];
  }
  return { data, width: layout.columns, height: layout.rows, channels: 3 };
}

// ---------------------------------------------------------------- value helpers

function firstValue(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function finiteNumber(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  return Number.isFinite(n) ? n : null;
}

function integer(value: unknown): number | null {
  const n = finiteNumber(firstValue(value));
  return n !== null && Number.isInteger(n) ? n : null;
}

function positiveInteger(value: unknown): number | null {
  const n = integer(value);
  return n !== null && n > 0 ? n : null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
