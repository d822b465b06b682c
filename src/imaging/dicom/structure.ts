/**
 * Reads the File Meta Information of a DICOM Part-10 buffer and checks that the element structure is
 * complete. dcmjs does not do the latter: a value that runs past the end of the buffer comes back
 * zero-filled, so a truncated file would "decode" with black rows. This walker follows lengths only
 * (values are skipped, never interpreted), including sequences and encapsulated pixel data.
 */

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

export interface Part10Meta {
  transferSyntaxUID: string;
  /** Byte offset of the first data set element (after group 0002). */
  datasetOffset: number;
}

interface Encoding {
  implicit: boolean;
  littleEndian: boolean;
}

const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const MAX_NESTING = 32;

export class DicomStructureError extends Error {}

/** Group 0002 is always explicit VR little endian. Throws DicomStructureError when it is unreadable. */
export function readPart10Meta(buf: Uint8Array): Part10Meta {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 132 || latin1(buf, 128, 4) !== 'DICM') throw new DicomStructureError('missing "DICM" marker at byte 128');
  const encoding: Encoding = { implicit: false, littleEndian: true };
  let pos = 132;
  let transferSyntaxUID: string | null = null;
  while (pos + 8 <= buf.byteLength && view.getUint16(pos, true) === 0x0002) {
    const element = readElementHeader(view, pos, encoding);
    const end = element.valueOffset + element.length;
    if (element.length === UNDEFINED_LENGTH || end > buf.byteLength) {
      throw new DicomStructureError(`file meta element ${tagName(element.tag)} runs past the end of the file`);
    }
    if (element.tag === 0x00020010) transferSyntaxUID = latin1(buf, element.valueOffset, element.length).replace(/[\0 ]+$/, '');
    pos = end;
  }
  if (!transferSyntaxUID) throw new DicomStructureError('file meta information has no TransferSyntaxUID (0002,0010)');
  return { transferSyntaxUID, datasetOffset: pos };
}

export interface StructureReport {
  /** null when complete, else what is missing. */
  truncation: string | null;
  hasPixelData: boolean;
}

/** Walks the data set from meta.datasetOffset to the end of the buffer. */
export function checkDatasetStructure(buf: Uint8Array, meta: Part10Meta): StructureReport {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const encoding: Encoding = {
    implicit: meta.transferSyntaxUID === IMPLICIT_VR_LITTLE_ENDIAN,
    littleEndian: meta.transferSyntaxUID !== EXPLICIT_VR_BIG_ENDIAN,
  };
  const state = { hasPixelData: false };
  try {
    walkElements(view, meta.datasetOffset, buf.byteLength, encoding, 0, state);
    return { truncation: null, hasPixelData: state.hasPixelData };
  } catch (error) {
    if (error instanceof DicomStructureError) return { truncation: error.message, hasPixelData: state.hasPixelData };
    throw error;
  }
}

interface ElementHeader {
  tag: number;
  vr: string | null;
  length: number;
  valueOffset: number;
}

function readElementHeader(view: DataView, pos: number, encoding: Encoding): ElementHeader {
  need(view, pos, 8, 'element header');
  const le = encoding.littleEndian;
  const tag = ((view.getUint16(pos, le) << 16) | view.getUint16(pos + 2, le)) >>> 0;
  if (encoding.implicit || tag >>> 16 === 0xfffe) {
    return { tag, vr: null, length: view.getUint32(pos + 4, le), valueOffset: pos + 8 };
  }
  const vr = String.fromCharCode(view.getUint8(pos + 4), view.getUint8(pos + 5));
  if (LONG_VRS.has(vr)) {
    need(view, pos, 12, 'element header');
    return { tag, vr, length: view.getUint32(pos + 8, le), valueOffset: pos + 12 };
  }
  return { tag, vr, length: view.getUint16(pos + 6, le), valueOffset: pos + 8 };
}

/** Returns the offset after the elements; stops early at an item delimiter when inside an item. */
function walkElements(
  view: DataView,
  pos: number,
  end: number,
  encoding: Encoding,
  depth: number,
  state: { hasPixelData: boolean },
): number {
  if (depth > MAX_NESTING) throw new DicomStructureError(`sequences nested deeper than ${MAX_NESTING} levels`);
  while (pos < end) {
    const element = readElementHeader(view, pos, encoding);
    if (element.tag === ITEM_DELIMITER) return element.valueOffset;
    if (element.tag === PIXEL_DATA && depth === 0) state.hasPixelData = true;
    if (element.length !== UNDEFINED_LENGTH) {
      pos = skip(view, element.valueOffset, element.length, element.tag);
      continue;
    }
    // Undefined length: a sequence, or encapsulated pixel data (fragments as items). A UN element of
    // undefined length holds a sequence encoded implicit VR little endian (PS3.5 6.2.2).
    const inner = element.vr === 'UN' ? { implicit: true, littleEndian: true } : encoding;
    pos = walkItems(view, element.valueOffset, end, inner, depth + 1, element.tag, state);
  }
  if (depth > 0) throw new DicomStructureError('the file ends inside a sequence item (truncated)');
  return pos;
}

function walkItems(
  view: DataView,
  pos: number,
  end: number,
  encoding: Encoding,
  depth: number,
  owner: number,
  state: { hasPixelData: boolean },
): number {
  for (;;) {
    if (pos >= end) throw new DicomStructureError(`the file ends inside ${tagName(owner)} before its end marker (truncated)`);
    const item = readElementHeader(view, pos, { ...encoding, implicit: true });
    if (item.tag === SEQUENCE_DELIMITER) return item.valueOffset;
    if (item.tag !== ITEM) throw new DicomStructureError(`unexpected ${tagName(item.tag)} inside ${tagName(owner)}`);
    pos =
      item.length === UNDEFINED_LENGTH
        ? walkElements(view, item.valueOffset, end, encoding, depth, state)
        : skip(view, item.valueOffset, item.length, owner);
  }
}

function skip(view: DataView, valueOffset: number, length: number, tag: number): number {
  const available = view.byteLength - valueOffset;
  if (length > available) {
    throw new DicomStructureError(
      `${tagName(tag)} declares ${length} bytes but only ${Math.max(0, available)} remain in the file (truncated)`,
    );
  }
  return valueOffset + length;
}

function need(view: DataView, pos: number, bytes: number, what: string): void {
  if (pos + bytes > view.byteLength) throw new DicomStructureError(`the file ends inside an ${what} at byte ${pos} (truncated)`);
}

function tagName(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  const name = tag === PIXEL_DATA ? ' PixelData' : '';
  return `element (${hex.slice(0, 4)},${hex.slice(4)})${name}`;
}

function latin1(buf: Uint8Array, start: number, length: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, Math.max(0, Math.min(length, buf.byteLength - start))).toString('latin1');
}
