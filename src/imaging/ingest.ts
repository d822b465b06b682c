/**
 * Turns an uploaded file into the canonical stored PNG plus facts (IngestedImage).
 *
 * - Format comes from the leading bytes: JPEG, PNG, TIFF, WebP, or DICOM Part 10 ("DICM" at byte 128;
 *   DICOM streams without the 128-byte preamble are not accepted).
 * - Depth is kept: 8-bit sources stay 8-bit, 16-bit sources (and DICOM with more than 8 bits) stay 16-bit.
 * - Greyscale stays one channel, including RGB files whose three channels are identical; alpha is dropped.
 * - EXIF orientation is applied so stored pixels are upright; embedded ICC profiles are ignored (sample
 *   values are kept as encoded, as PIL/torchvision read them); the PNG carries no metadata at all.
 * - The pixel limit is checked on the header before any pixel is decoded (decompression bombs).
 * - Any decoder warning rejects the file (sharp failOn 'warning'): with 'truncated' or 'error', libjpeg
 *   silently pads a JPEG that was cut and re-terminated, or whose entropy data is damaged, with grey.
 *
 * Every raster file is decoded once, to raw samples (RGB ones are checked for identical channels), which
 * ./png.ts writes.
 */
import sharp from 'sharp';
import { decodeDicom } from './dicom/decode';
import { deidentifyDicom } from './dicom/deidentify';
import { assertWithinPixelLimit } from './limits';
import { encodePng, type RawPixels } from './png';
import { collapseGreyRgb, uint16View, uint8View } from './pixels';
import { ImageError, SYNTHETIC_IMAGE_DESCRIPTION, type BitDepth, type IngestOptions, type IngestedImage, type SourceFormat } from './types';

type RasterFormat = Exclude<SourceFormat, 'dicom'>;

const FORMAT_NAMES: Record<SourceFormat, string> = {
  jpeg: 'JPEG',
  png: 'PNG',
  tiff: 'TIFF',
  webp: 'WebP',
  dicom: 'DICOM',
};

export async function ingestImage(buf: Buffer, opts: IngestOptions): Promise<IngestedImage> {
  const format = detectFormat(buf);
  if (format === null) throw new ImageError('UNSUPPORTED_FORMAT', describeUnsupported(buf));
  return format === 'dicom' ? ingestDicom(buf, opts) : ingestRaster(buf, format, opts);
}

/** Recognises the supported formats by their signatures; null for anything else. */
export function detectFormat(buf: Buffer): SourceFormat | null {
  if (buf.length >= 132 && buf.toString('latin1', 128, 132) === 'DICM') return 'dicom';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  const head = buf.toString('latin1', 0, 4);
  if (head === 'II*\0' || head === 'MM\0*') return 'tiff';
  if (buf.length >= 12 && head === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return null;
}

function describeUnsupported(buf: Buffer): string {
  const supported = 'supported formats are JPEG, PNG, TIFF, WebP and DICOM (Part 10, with preamble)';
  if (buf.length === 0) return `empty file; ${supported}`;
  const head = buf.toString('latin1', 0, 8);
  if (head.startsWith('GIF8')) return `GIF images are not supported; ${supported}`;
  if (head.startsWith('BM')) return `BMP images are not supported; ${supported}`;
  if (head.startsWith('PK\x03\x04')) return `this is a ZIP archive, not an image; ${supported}`;
  if (head.startsWith('%PDF')) return `this is a PDF document, not an image; ${supported}`;
  if (looksLikeText(buf)) return `this looks like a text file, not an image; ${supported}`;
  return `unrecognised file type; ${supported}`; // never the file's bytes: a message may reach any reader of the job
}

function looksLikeText(buf: Buffer): boolean {
  const sample = buf.subarray(0, 512);
  let printable = 0;
  for (const b of sample) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc0) printable++;
  return printable / sample.length > 0.95;
}

// ---------------------------------------------------------------- raster (sharp)

interface RasterHeader {
  width: number;
  height: number;
  bitDepth: BitDepth;
  grey: boolean;
  hasAlpha: boolean;
  /** EXIF orientation other than 1 ("upright"). */
  rotated: boolean;
  /** Its EXIF carries the synthetic-phantom mark. */
  synthetic: boolean;
}

async function ingestRaster(buf: Buffer, format: RasterFormat, opts: IngestOptions): Promise<IngestedImage> {
  const header = await readRasterHeader(buf, format);
  assertWithinPixelLimit(header.width, header.height, opts.maxPixels, `${FORMAT_NAMES[format]} image`);
  const pixels = collapseGreyRgb(await decodeRaster(buf, format, header, opts.maxPixels));
  const stored = { png: await encodePng(pixels), width: pixels.width, height: pixels.height, channels: pixels.channels };
  return { ...stored, bitDepth: header.bitDepth, format, window: null, synthetic: header.synthetic };
}

/** Header only: no pixel is decoded, so a huge declared size costs nothing here. */
async function readRasterHeader(buf: Buffer, format: RasterFormat): Promise<RasterHeader> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw sharpFailure(error, format);
  }
  if (!meta.width || !meta.height) throw new ImageError('CORRUPT', `${FORMAT_NAMES[format]} header has no image size`);
  const colourChannels = meta.channels - (meta.hasAlpha ? 1 : 0);
  return {
    width: meta.width,
    height: meta.height,
    bitDepth: bitDepthOf(meta, format),
    grey: colourChannels === 1,
    hasAlpha: meta.hasAlpha,
    rotated: (meta.orientation ?? 1) !== 1,
    synthetic: meta.exif?.includes(SYNTHETIC_IMAGE_DESCRIPTION, 0, 'latin1') === true,
  };
}

function bitDepthOf(meta: sharp.Metadata, format: RasterFormat): BitDepth {
  if (meta.depth === 'uchar') return 8;
  if (meta.depth === 'ushort') return 16;
  throw new ImageError(
    'UNSUPPORTED_FORMAT',
    `${FORMAT_NAMES[format]} with sample type "${meta.depth}" is not supported; convert it to 8- or 16-bit unsigned`,
  );
}

/** The one decode: upright, alpha removed, as grey or RGB samples of the source depth. */
async function decodeRaster(buf: Buffer, format: RasterFormat, header: RasterHeader, maxPixels: number): Promise<RawPixels> {
  const wide = header.bitDepth === 16;
  // Never convert RGB to 'b-w' in libvips: that goes through linear light and costs ~18 ms per megapixel.
  const space = header.grey ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb';
  let result: { data: Buffer; info: sharp.OutputInfo };
  try {
    result = await sharpInput(buf, header, maxPixels)
      .toColourspace(space)
      .raw({ depth: wide ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw sharpFailure(error, format);
  }
  const { info, data } = result;
  if (info.channels !== 1 && info.channels !== 3) {
    throw new Error(`sharp returned ${info.channels} channels for a ${space} decode`);
  }
  return { data: wide ? uint16View(data) : uint8View(data), width: info.width, height: info.height, channels: info.channels };
}

/**
 * Decoder settings for every raster decode: any decoder warning fails (see the top of this file), the
 * pixel limit is enforced again by libvips, ICC profiles are ignored. autoOrient and removeAlpha only
 * when the header asks for them: each adds a libvips operation (~0.5 ms per image).
 */
function sharpInput(buf: Buffer, header: RasterHeader, maxPixels: number): sharp.Sharp {
  const pipeline = sharp(buf, {
    failOn: 'warning',
    limitInputPixels: Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false,
    autoOrient: header.rotated,
    ignoreIcc: true,
  });
  return header.hasAlpha ? pipeline.removeAlpha() : pipeline;
}

/** Maps sharp/libvips errors to ImageError with a readable reason (first line of libvips' message). */
function sharpFailure(error: unknown, format: RasterFormat): ImageError {
  const raw = error instanceof Error ? error.message : String(error);
  const reason = raw
    .split('\n')[0]
    .replace(/^Input buffer (has corrupt header|contains unsupported image format):?\s*/, '')
    .replace(/^Vips\w*:\s*/, '')
    .trim();
  const name = FORMAT_NAMES[format];
  if (/exceeds pixel limit/i.test(raw)) return new ImageError('TOO_LARGE', `${name} image is over the pixel limit`);
  if (/unsupported image format/i.test(raw)) {
    const detail = reason ? ` (${reason})` : '';
    return new ImageError('UNSUPPORTED_FORMAT', `${name} file uses a variant this server cannot read${detail}`);
  }
  return new ImageError('CORRUPT', `${name} file is corrupt or truncated${reason ? ` (${reason})` : ''}`);
}

// ---------------------------------------------------------------- DICOM

async function ingestDicom(buf: Buffer, opts: IngestOptions): Promise<IngestedImage> {
  const decoded = await decodeDicom(buf, { maxPixels: opts.maxPixels });
  const { attributes, patientKey } = deidentifyDicom(
    { ...decoded.dataset, TransferSyntaxUID: decoded.transferSyntaxUID },
    opts.pseudonymKey,
  );
  // Derived, non-identifying facts needed to interpret the stored pixels (see src/imaging/dicom/decode.ts).
  attributes.NumberOfFrames = decoded.frameCount;
  if (decoded.storedToModality) {
    attributes.StoredPixelRescaleSlope = decoded.storedToModality.slope;
    attributes.StoredPixelRescaleIntercept = decoded.storedToModality.intercept;
  }
  const pixels = collapseGreyRgb(decoded.pixels);
  return {
    png: await encodePng(pixels),
    width: pixels.width,
    height: pixels.height,
    channels: pixels.channels,
    bitDepth: decoded.bitDepth,
    format: 'dicom',
    window: decoded.window,
    dicom: { attributes, patientKey },
    detectorResponse: decoded.detectorResponse,
    synthetic: false, // medpsim writes no DICOM phantoms
  };
}
