/**
 * Builds DICOM Part-10 files for tests: dcmjs writes explicit VR little endian, dcmjs-codecs transcodes
 * to any other syntax (implicit, big endian, RLE, JPEG lossless, JPEG-LS, JPEG 2000, HTJ2K, ...).
 */
import { data as dcmjsData } from 'dcmjs';
import { constants, NativeCodecs, Transcoder } from 'dcmjs-codecs';

export type TransferSyntaxName = keyof typeof constants.TransferSyntax;

export interface DicomFixtureOptions {
  width?: number; // default 16
  height?: number; // default 12
  /** Default 8 when bitsStored <= 8, else 16. */
  bitsAllocated?: 8 | 16;
  /** Default 12 (8 for RGB). */
  bitsStored?: number;
  /** PixelRepresentation 1: samples are two's complement. */
  signed?: boolean;
  samplesPerPixel?: 1 | 3;
  /** PlanarConfiguration 1 for RGB: all R, then all G, then all B. */
  planar?: boolean;
  /** Default MONOCHROME2 (RGB when samplesPerPixel is 3). */
  photometric?: string;
  /** Stored sample values, interleaved (or planar when `planar`); default fixturePixels(options). */
  pixels?: ArrayLike<number>;
  /** Number of frames; frame k > 0 holds pixels + k (clamped to the stored range). */
  frames?: number;
  rescale?: { slope: number; intercept: number; type?: string };
  window?: { center: number | number[]; width: number | number[] };
  /** Default ExplicitVRLittleEndian; a name from dcmjs-codecs' TransferSyntax or a UID. */
  transferSyntax?: TransferSyntaxName | string;
  /** Patient/institution attributes etc., written as given (keyword -> value). */
  identifying?: Record<string, unknown>;
  /** Any other attributes (keyword -> value). */
  extra?: Record<string, unknown>;
  omitPixelData?: boolean;
  /** Writes this UID as the file's transfer syntax without encoding for it (the data set stays explicit
   * VR little endian): a file that claims a syntax we do not support. */
  declaredTransferSyntax?: string;
}

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const DIGITAL_XRAY = '1.2.840.10008.5.1.4.1.1.1.1';

interface Resolved {
  width: number;
  height: number;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  signed: boolean;
  samplesPerPixel: 1 | 3;
}

function resolve(options: DicomFixtureOptions): Resolved {
  const samplesPerPixel = options.samplesPerPixel ?? 1;
  const bitsStored = options.bitsStored ?? (options.bitsAllocated === 8 || samplesPerPixel === 3 ? 8 : 12);
  return {
    width: options.width ?? 16,
    height: options.height ?? 12,
    bitsAllocated: options.bitsAllocated ?? (bitsStored <= 8 ? 8 : 16),
    bitsStored,
    signed: options.signed ?? false,
    samplesPerPixel,
  };
}

/** The default pattern: a ramp that reaches both ends of the stored range, plus a diagonal. */
export function fixturePixels(options: DicomFixtureOptions = {}): number[] {
  const r = resolve(options);
  const min = r.signed ? -(2 ** (r.bitsStored - 1)) : 0;
  const span = 2 ** r.bitsStored - 1;
  const count = r.width * r.height * r.samplesPerPixel;
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(min + Math.round(((i * 7919) % (count + 1)) * (span / Math.max(1, count))));
  out[0] = min;
  out[count - 1] = min + span;
  return out;
}

export async function makeDicom(options: DicomFixtureOptions = {}): Promise<Buffer> {
  const r = resolve(options);
  const photometric = options.photometric ?? (r.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2');
  const dataset: Record<string, unknown> = {
    SOPClassUID: r.samplesPerPixel === 1 ? DIGITAL_XRAY : SECONDARY_CAPTURE,
    SOPInstanceUID: '1.2.826.0.1.3680043.8.498.1',
    Modality: 'DX',
    Rows: r.height,
    Columns: r.width,
    SamplesPerPixel: r.samplesPerPixel,
    PhotometricInterpretation: photometric,
    BitsAllocated: r.bitsAllocated,
    BitsStored: r.bitsStored,
    HighBit: r.bitsStored - 1,
    PixelRepresentation: r.signed ? 1 : 0,
    ...(r.samplesPerPixel === 3 ? { PlanarConfiguration: options.planar ? 1 : 0 } : {}),
    ...(options.frames && options.frames > 1 ? { NumberOfFrames: options.frames } : {}),
    ...(options.rescale
      ? {
          RescaleSlope: options.rescale.slope,
          RescaleIntercept: options.rescale.intercept,
          RescaleType: options.rescale.type ?? 'US',
        }
      : {}),
    ...(options.window ? { WindowCenter: options.window.center, WindowWidth: options.window.width } : {}),
    ...options.identifying,
    ...options.extra,
  };
  if (!options.omitPixelData) {
    dataset.PixelData = [pixelBytes(options, r)];
    dataset._vrMap = { PixelData: r.bitsAllocated === 8 ? 'OB' : 'OW' };
  }
  const meta = dcmjsData.DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: options.declaredTransferSyntax ?? constants.TransferSyntax.ExplicitVRLittleEndian,
    ImplementationClassUID: '1.2.826.0.1.3680043.8.498.2',
  });
  const dict = new dcmjsData.DicomDict(meta);
  dict.dict = dcmjsData.DicomMetaDictionary.denaturalizeDataset(dataset);
  const explicit = dict.write();
  const target = syntaxUid(options.transferSyntax);
  if (target === constants.TransferSyntax.ExplicitVRLittleEndian || options.declaredTransferSyntax) return Buffer.from(explicit);
  return Buffer.from(await transcode(explicit, target));
}

function pixelBytes(options: DicomFixtureOptions, r: Resolved): ArrayBuffer {
  const frame = options.pixels ?? fixturePixels(options);
  const perFrame = r.width * r.height * r.samplesPerPixel;
  if (frame.length !== perFrame) throw new Error(`makeDicom: ${frame.length} pixels given, ${perFrame} needed`);
  const frames = options.frames ?? 1;
  const min = r.signed ? -(2 ** (r.bitsStored - 1)) : 0;
  const max = min + 2 ** r.bitsStored - 1;
  const total = perFrame * frames;
  const samples = r.bitsAllocated === 8 ? new Uint8Array(total + (total % 2)) : new Uint16Array(total); // OB: even length
  for (let k = 0; k < frames; k++) {
    // Frame 0 is written as given (bits above BitsStored included); negative values wrap to two's complement.
    for (let i = 0; i < perFrame; i++) samples[k * perFrame + i] = k === 0 ? frame[i] : Math.min(max, frame[i] + k);
  }
  return samples.buffer as ArrayBuffer;
}

function syntaxUid(syntax: DicomFixtureOptions['transferSyntax']): string {
  if (!syntax) return constants.TransferSyntax.ExplicitVRLittleEndian;
  const named = (constants.TransferSyntax as Record<string, string>)[syntax];
  return named ?? syntax;
}

let codecsReady: Promise<void> | null = null;

async function transcode(part10: ArrayBuffer, syntax: string): Promise<ArrayBuffer> {
  codecsReady ??= NativeCodecs.initializeAsync();
  await codecsReady;
  const transcoder = new Transcoder(part10);
  transcoder.transcode(syntax);
  return transcoder.getDicomPart10();
}
