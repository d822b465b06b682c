/**
 * NumPy .npy files (the judgments of a BAPPS folder are one-element arrays in this format).
 *
 * Format as numpy.lib.format documents it (numpy/lib/_format_impl.py, read from numpy 2.4.6):
 *   magic "\x93NUMPY", major and minor version bytes, the header length (uint16 little-endian in
 *   version 1.0, uint32 in 2.0 and 3.0), the header: a Python dict literal (latin1 up to 2.0, UTF-8 in
 *   3.0) padded with spaces and ended by "\n" so that the data starts on a multiple of 64 bytes
 *   (ARRAY_ALIGN = 64; NEP 1 still says 16, numpy/numpy#11080), then the raw data.
 * numpy (since numpy/numpy#20321, merged in 2022) also puts 21 - digits(shape[0]) spaces after the dict,
 * so the first axis can grow in place; the writer does the same so its files are byte-identical to np.save's.
 */

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

export interface NpyArray {
  /** The dtype as the file spells it, e.g. '<f4', '>f8', '|u1'. */
  descr: string;
  /** [] for a scalar. */
  shape: number[];
  fortranOrder: boolean;
  /** The values in file order, converted to doubles (64-bit integers beyond 2^53 lose precision). */
  data: Float64Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

type Reader = (view: DataView, offset: number, littleEndian: boolean) => number;

/** Element readers by dtype kind and size: the descr minus its byte-order character. */
const READERS: Record<string, { size: number; read: Reader }> = {
  f2: { size: 2, read: (v, o, le) => halfToNumber(v.getUint16(o, le)) },
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  i2: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  i4: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  i8: { size: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  u2: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  u4: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  u8: { size: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
  b1: { size: 1, read: (v, o) => (v.getUint8(o) === 0 ? 0 : 1) },
};

/** A version 1.0 .npy file of the values, little-endian, C order: the bytes np.save writes for the same array. */
export function encodeNpy(values: Float32Array | Float64Array, shape: number[]): Buffer {
  for (const n of shape) {
    if (!Number.isSafeInteger(n) || n < 0) throw new NpyError(`encodeNpy: shape (${shape.join(', ')}) has an entry that is not a non-negative integer`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw new NpyError(`encodeNpy: ${values.length} values do not fill shape (${shape.join(', ')})`);

  const float32 = values instanceof Float32Array;
  let header = `{'descr': '${float32 ? '<f4' : '<f8'}', 'fortran_order': False, 'shape': ${pythonTuple(shape)}, }`;
  if (shape.length > 0) header += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  // As numpy's _wrap_header: the padding counts the final "\n", and a header that is already aligned gets 64 more spaces.
  const padding = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + header.length + 1) % ARRAY_ALIGN);
  header += ' '.repeat(padding) + '\n';
  if (header.length > 0xffff) throw new NpyError(`encodeNpy: a header of ${header.length} bytes does not fit version 1.0`);

  const itemSize = float32 ? 4 : 8;
  const out = Buffer.alloc(MAGIC.length + 4 + header.length + count * itemSize);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  // DataView rather than copying the array's memory: the file is little-endian whatever the host is.
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  const start = 10 + header.length;
  for (let i = 0; i < count; i++) {
    if (float32) view.setFloat32(start + i * 4, values[i], true);
    else view.setFloat64(start + i * 8, values[i], true);
  }
  return out;
}

/** Reads a .npy file of numbers (versions 1.0 to 3.0); throws NpyError for anything it cannot read safely. */
export function decodeNpy(bytes: Buffer): NpyArray {
  // A file cut inside the magic is reported as truncated, anything else that does not start with it as not a .npy file.
  const prefix = bytes.subarray(0, MAGIC.length);
  if (prefix.length === 0 || !prefix.equals(MAGIC.subarray(0, prefix.length))) throw new NpyError('not a .npy file (missing the \\x93NUMPY magic)');
  if (bytes.length < 8) throw new NpyError('truncated .npy file: it ends inside the magic and version');
  const major = bytes[6];
  const minor = bytes[7];
  if (minor !== 0 || major < 1 || major > 3) throw new NpyError(`unsupported .npy format version ${major}.${minor} (1.0, 2.0 and 3.0 are)`);

  const lengthSize = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthSize;
  if (bytes.length < headerStart) throw new NpyError('truncated .npy file: it ends inside the header length');
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw new NpyError(`truncated .npy file: the header claims ${headerLength} bytes, ${bytes.length - headerStart} follow`);

  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart);
  const { descr, fortranOrder, shape } = parseHeader(header);

  const reader = READERS[descr.slice(1)];
  const order = descr[0];
  // '|' (not applicable) is what numpy writes for one-byte types; '=' (native) never appears in a file numpy wrote.
  if (!reader || !(order === '<' || order === '>' || (order === '|' && reader.size === 1))) {
    throw new NpyError(`unsupported .npy dtype '${descr}' (floats f2/f4/f8, integers i1-i8 and u1-u8, and b1 are)`);
  }
  // Fortran order only changes the layout of 2 or more dimensions; callers expect C order.
  if (fortranOrder && shape.length > 1) throw new NpyError(`Fortran-ordered .npy arrays of ${shape.length} dimensions are not supported`);

  const count = shape.reduce((a, b) => a * b, 1);
  const dataLength = bytes.length - dataStart;
  if (dataLength !== count * reader.size) {
    throw new NpyError(`.npy data is ${dataLength} bytes, shape (${shape.join(', ')}) of '${descr}' needs ${count * reader.size}`);
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, dataLength);
  const littleEndian = order !== '>';
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = reader.read(view, i * reader.size, littleEndian);
  return { descr, shape, fortranOrder, data };
}

/**
 * The three keys of the header dict. Not a Python parser: numpy and the other writers (cnpy, ndarray-npy...)
 * all write the same simple literal, and a structured dtype (a list as descr) is unsupported anyway.
 */
function parseHeader(header: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const text = header.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) throw new NpyError('malformed .npy header (not a dict literal)');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)\b/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new NpyError(`malformed .npy header (descr, fortran_order or shape missing): ${text.slice(0, 200)}`);

  const dims: number[] = [];
  for (const part of shape[1].split(',')) {
    const item = part.trim();
    if (item === '') continue; // '(3,)' and '()'
    // numpy under Python 2 wrote longs as '3L'.
    if (!/^\d+L?$/.test(item)) throw new NpyError(`malformed .npy shape (${shape[1]})`);
    const n = Number.parseInt(item, 10);
    if (!Number.isSafeInteger(n)) throw new NpyError(`.npy shape (${shape[1]}) is too large`);
    dims.push(n);
  }
  if (!Number.isSafeInteger(dims.reduce((a, b) => a * b, 1))) throw new NpyError(`.npy shape (${shape[1]}) is too large`);
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims };
}

/** Python's repr of a tuple of ints: '()', '(3,)', '(2, 3)'. */
function pythonTuple(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** IEEE 754 binary16 to a number. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
