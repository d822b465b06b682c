/**
 * DE-IDENTIFICATION RULE
 *
 * Nothing from a DICOM header is stored unless its keyword is on DICOM_ATTRIBUTE_ALLOW_LIST below:
 * technical and acquisition attributes needed to interpret the pixels (geometry, bit depth, photometric
 * interpretation, rescale, default window, pixel intensity relationship, pixel spacing, view, exposure).
 * Every other attribute is dropped, whatever it is called, including private tags, sequences and anything
 * added to DICOM later.
 * In particular: patient name, ID, birth date, address and other IDs; institution, physicians and
 * operators; accession number; study, series and SOP instance UIDs (they can be linked back to the
 * source PACS); all dates and times; device serial numbers and station names.
 * Patient sex and age are dropped too: they are quasi-identifiers (with a rare finding or a small site
 * they narrow a person down) and the similarity tests do not need them; a study that does should bring
 * them in a separately governed metadata file.
 * Kept values must be short plain numbers or strings (at most 64 characters; multi-valued ones are
 * joined with "\"), so free text cannot ride along in an allowed attribute.
 * Pixels are kept as they are: text burned into the image (BurnedInAnnotation = YES, kept so it can be
 * flagged) is not removed.
 *
 * Patients are grouped by a pseudonym instead of their ID: "anon-" + the first 16 hex digits of
 * HMAC-SHA256(key = the installation's pseudonym key, message = PatientID), or null without a PatientID.
 * The same patient gets the same key across imports of one installation (so data can be split by
 * patient); without the key the ID cannot be recovered or confirmed by guessing.
 */
import { createHmac } from 'node:crypto';
import type { DicomAttributes } from '../types';

export const DICOM_ATTRIBUTE_ALLOW_LIST = [
  // what the image is
  'Modality',
  'SOPClassUID',
  'TransferSyntaxUID',
  'BodyPartExamined',
  'ViewPosition',
  'ImageLaterality',
  'PatientOrientation',
  'PresentationIntentType',
  'BurnedInAnnotation',
  'LossyImageCompression',
  'LossyImageCompressionRatio',
  // pixel layout
  'Rows',
  'Columns',
  'NumberOfFrames',
  'SamplesPerPixel',
  'PhotometricInterpretation',
  'PlanarConfiguration',
  'BitsAllocated',
  'BitsStored',
  'HighBit',
  'PixelRepresentation',
  'PixelSpacing',
  'ImagerPixelSpacing',
  // value mapping and display
  'RescaleSlope',
  'RescaleIntercept',
  'RescaleType',
  'WindowCenter',
  'WindowWidth',
  'VOILUTFunction',
  'PixelIntensityRelationship',
  'PixelIntensityRelationshipSign',
  // acquisition
  'KVP',
  'Exposure',
  'ExposureTime',
  'XRayTubeCurrent',
] as const;

const MAX_VALUE_LENGTH = 64;

export interface DeidentifiedDicom {
  attributes: DicomAttributes;
  patientKey: string | null;
}

/** `dataset` is keyed by DICOM keyword, as dcmjs naturalizes it. */
export function deidentifyDicom(dataset: Record<string, unknown>, pseudonymKey: Buffer): DeidentifiedDicom {
  const attributes: DicomAttributes = {};
  for (const keyword of DICOM_ATTRIBUTE_ALLOW_LIST) {
    const value = plainValue(dataset[keyword]);
    if (value !== null) attributes[keyword] = value;
  }
  return { attributes, patientKey: patientPseudonym(dataset.PatientID, pseudonymKey) };
}

/** "anon-" + 16 hex digits of HMAC-SHA256(key, PatientID); null when there is no PatientID. */
export function patientPseudonym(patientId: unknown, pseudonymKey: Buffer): string | null {
  const id = typeof patientId === 'string' || typeof patientId === 'number' ? String(patientId).trim() : '';
  if (id === '') return null;
  return `anon-${createHmac('sha256', pseudonymKey).update(id, 'utf8').digest('hex').slice(0, 16)}`;
}

/** A number, or a short string; multi-valued -> "a\b". Anything else (objects, binary, long text) -> null. */
function plainValue(value: unknown): string | number | null {
  if (Array.isArray(value)) {
    const parts = value.map(plainValue);
    if (parts.length === 0 || parts.some((p) => p === null)) return null;
    return parts.length === 1 ? parts[0] : shortString(parts.join('\\'));
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') return shortString(value.trim());
  return null;
}

function shortString(value: string): string | null {
  return value !== '' && value.length <= MAX_VALUE_LENGTH ? value : null;
}
