/** What every decoder hands to the image store: pixels as stored (never squashed to 8 bit) plus facts. */
import type { DetectorResponse } from './detector-response';

export type BitDepth = 8 | 16;
export type SourceFormat = 'jpeg' | 'png' | 'tiff' | 'webp' | 'dicom';

/** Display window in stored pixel units (after rescale, inversion and offset, see dicom/). */
export interface DisplayWindow {
  center: number;
  width: number;
}

/** What an image route needs of a stored picture: its blob and its default window. */
export interface StoredPicture {
  contentHash: string;
  window: DisplayWindow | null;
}

/**
 * Written into the EXIF ImageDescription of every synthetic phantom (src/synth): an image that carries it is
 * stored as synthetic, however it arrives (folder import, upload).
 */
export const SYNTHETIC_IMAGE_DESCRIPTION = 'MEDPSIM SYNTHETIC PHANTOM - generated chest X-ray, not patient data';

/** De-identified facts kept from a DICOM file (allow-list only, see src/imaging/dicom/deidentify.ts). */
export type DicomAttributes = Record<string, string | number>;

export interface IngestedImage {
  /** Canonical PNG for the content-addressed store: 8 or 16 bit, 1 (grey) or 3 (RGB) channels, no metadata. */
  png: Buffer;
  width: number;
  height: number;
  channels: 1 | 3;
  bitDepth: BitDepth;
  format: SourceFormat;
  /** Default window (DICOM files carry one); null means "full range". */
  window: DisplayWindow | null;
  /** DICOM only: allow-listed attributes and a pseudonymous patient key (never the real id). */
  dicom?: { attributes: DicomAttributes; patientKey: string | null };
  /** DICOM only: the detector response its header gives (DEFAULT_RESPONSE without Pixel Intensity
   * Relationship); plain files carry none and get the import's (src/imaging/detector-response.ts). */
  detectorResponse?: DetectorResponse;
  /** The file carries the synthetic-phantom mark (SYNTHETIC_IMAGE_DESCRIPTION). */
  synthetic: boolean;
}

export type ImageErrorCode =
  | 'UNSUPPORTED_FORMAT' // not an image we can read
  | 'CORRUPT' // truncated or malformed
  | 'TOO_LARGE' // over the pixel limit (decompression bomb guard)
  | 'NO_PIXEL_DATA'; // DICOM without (PixelData)

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface IngestOptions {
  /** Reject images with more pixels than this (width * height). */
  maxPixels: number;
  /** Key for the patient pseudonym (HMAC); per installation, never stored with the data it protects. */
  pseudonymKey: Buffer;
}
