import { decodeNpy, encodeNpy, NpyError } from '../../src/testsets/npy';

/** Bytes from hex written in lines of 64 bytes (the headers below are two such lines: numpy aligns the data to 64). */
function hex(...lines: string[]): Buffer {
  return Buffer.from(lines.join(''), 'hex');
}

// All fixtures were written by numpy 2.4.6 (np.save, or numpy.lib.format.write_array for versions 2.0 and 3.0):
// np.save(f, np.array([0.6], dtype='<f4'))
const F4_06 = hex(
  '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028312c29',
  '2c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '9a99193f',
);
// np.save(f, np.array(0.25, dtype='<f8'))
const F8_SCALAR = hex(
  '934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028292c20',
  '7d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '000000000000d03f',
);
// np.save(f, np.arange(6, dtype='<f8').reshape(2, 3) / 4)
const F8_2X3 = hex(
  '934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c20',
  '33292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '0000000000000000000000000000d03f000000000000e03f000000000000e83f000000000000f03f000000000000f43f',
);
// np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4'))
const F4_2X3 = hex(
  '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c20',
  '33292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '0000803f0000004000004040000080400000a0400000c040',
);
// np.save(f, np.array([1.5, -2.0, 0.6], dtype='>f4'))
const BE_F4 = hex(
  '934e554d5059010076007b276465736372273a20273e6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c29',
  '2c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '3fc00000c00000003f19999a',
);
// write_array(f, np.array([0.5, 0.75], dtype='<f4'), version=(2, 0))
const V2_F4 = hex(
  '934e554d50590200740000007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a202832',
  '2c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '0000003f0000403f',
);
// write_array(f, np.array([1.0], dtype='<f8'), version=(3, 0))
const V3_F8 = hex(
  '934e554d50590300740000007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a202831',
  '2c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '000000000000f03f',
);
// np.save(f, np.array([0.5, -2.0, 65504, 2**-24, np.inf], dtype='<f2'))
const F2 = hex(
  '934e554d5059010076007b276465736372273a20273c6632272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028352c29',
  '2c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '003800c0ff7b0100007c',
);
// np.save(f, np.array([0, 1, 255], dtype='|u1'))
const U1 = hex(
  '934e554d5059010076007b276465736372273a20277c7531272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c29',
  '2c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '0001ff',
);
// np.save(f, np.array([-1, 7], dtype='<i4'))
const I4 = hex(
  '934e554d5059010076007b276465736372273a20273c6934272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c29',
  '2c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  'ffffffff07000000',
);
// np.save(f, np.array([-3, 2**40], dtype='<i8'))
const I8 = hex(
  '934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c29',
  '2c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  'fdffffffffffffff0000000000010000',
);
// np.save(f, np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
const FORTRAN_2X3 = hex(
  '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a20547275652c20277368617065273a2028322c2033',
  '292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '00000000000040400000803f00008040000000400000a040',
);
// np.save(f, np.array([1 + 2j], dtype='<c8'))
const C8 = hex(
  '934e554d5059010076007b276465736372273a20273c6338272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028312c29',
  '2c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a',
  '0000803f00000040',
);

/** The same file with its header length field replaced (version 1.0: uint16 at byte 8). */
function withHeaderLength(file: Buffer, length: number): Buffer {
  const copy = Buffer.from(file);
  copy.writeUInt16LE(length, 8);
  return copy;
}

describe('encodeNpy', () => {
  it('writes the exact bytes np.save writes', () => {
    expect(encodeNpy(new Float32Array([0.6]), [1]).toString('hex')).toBe(F4_06.toString('hex'));
    expect(encodeNpy(new Float64Array([0.25]), []).toString('hex')).toBe(F8_SCALAR.toString('hex'));
    expect(encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]).toString('hex')).toBe(F4_2X3.toString('hex'));
    expect(encodeNpy(new Float64Array([0, 0.25, 0.5, 0.75, 1, 1.25]), [2, 3]).toString('hex')).toBe(F8_2X3.toString('hex'));
  });

  it('aligns the data to 64 bytes and ends the header with a newline, however long the shape', () => {
    // (Checked against np.save for 258 shapes when this was written; the fixtures above keep four of them.)
    for (const shape of [[], [0], [7], [2, 3], [0, 123456789], new Array<number>(30).fill(1)]) {
      const file = encodeNpy(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
      const headerLength = file.readUInt16LE(8);
      expect((10 + headerLength) % 64).toBe(0);
      expect(file[10 + headerLength - 1]).toBe(0x0a);
      expect(decodeNpy(file).shape).toEqual(shape);
    }
  });

  it('round-trips through decodeNpy', () => {
    const values = new Float64Array([0, -1.5, Math.PI, 1e-300, -0, Number.MAX_VALUE]);
    expect(decodeNpy(encodeNpy(values, [6]))).toEqual({ descr: '<f8', shape: [6], fortranOrder: false, data: values });
    expect(decodeNpy(encodeNpy(values, [3, 2]))).toMatchObject({ shape: [3, 2], data: values });
    expect(decodeNpy(encodeNpy(values, [1, 2, 3]))).toMatchObject({ shape: [1, 2, 3], data: values });
    const singles = new Float32Array([0.1, 0.6, -7]);
    expect(decodeNpy(encodeNpy(singles, [3]))).toEqual({ descr: '<f4', shape: [3], fortranOrder: false, data: Float64Array.from(singles) });
    expect(decodeNpy(encodeNpy(new Float32Array([0.6]), []))).toMatchObject({ shape: [], data: Float64Array.from([Math.fround(0.6)]) });
    expect(decodeNpy(encodeNpy(new Float32Array(0), [0, 4]))).toMatchObject({ shape: [0, 4], data: new Float64Array(0) });
  });

  it('rejects a shape that does not match the number of values', () => {
    expect(() => encodeNpy(new Float32Array(3), [2, 2])).toThrow(NpyError);
    expect(() => encodeNpy(new Float32Array(3), [])).toThrow(/3 values do not fill shape \(\)/);
    expect(() => encodeNpy(new Float32Array(0), [-1])).toThrow(NpyError);
    expect(() => encodeNpy(new Float32Array(2), [2.5])).toThrow(NpyError);
  });
});

describe('decodeNpy', () => {
  it('reads the files numpy wrote: versions 1.0, 2.0 and 3.0', () => {
    expect(decodeNpy(F4_06)).toEqual({ descr: '<f4', shape: [1], fortranOrder: false, data: Float64Array.from([Math.fround(0.6)]) });
    expect(decodeNpy(F8_SCALAR)).toEqual({ descr: '<f8', shape: [], fortranOrder: false, data: Float64Array.from([0.25]) });
    expect(decodeNpy(V2_F4)).toEqual({ descr: '<f4', shape: [2], fortranOrder: false, data: Float64Array.from([0.5, 0.75]) });
    expect(decodeNpy(V3_F8)).toEqual({ descr: '<f8', shape: [1], fortranOrder: false, data: Float64Array.from([1]) });
  });

  it('reads 2-d float64 in C order', () => {
    expect(decodeNpy(F8_2X3)).toEqual({ descr: '<f8', shape: [2, 3], fortranOrder: false, data: Float64Array.from([0, 0.25, 0.5, 0.75, 1, 1.25]) });
  });

  it('reads big-endian, half floats and integers', () => {
    expect(decodeNpy(BE_F4)).toMatchObject({ descr: '>f4', shape: [3], data: Float64Array.from([1.5, -2, Math.fround(0.6)]) });
    expect(decodeNpy(F2)).toMatchObject({ descr: '<f2', data: Float64Array.from([0.5, -2, 65504, 2 ** -24, Infinity]) });
    expect(decodeNpy(U1)).toMatchObject({ descr: '|u1', data: Float64Array.from([0, 1, 255]) });
    expect(decodeNpy(I4)).toMatchObject({ descr: '<i4', data: Float64Array.from([-1, 7]) });
    expect(decodeNpy(I8)).toMatchObject({ descr: '<i8', data: Float64Array.from([-3, 2 ** 40]) });
  });

  it('reads a file inside a larger buffer (an unaligned view)', () => {
    const pool = Buffer.concat([Buffer.from([1, 2, 3]), V3_F8]);
    expect(decodeNpy(pool.subarray(3)).data).toEqual(Float64Array.from([1]));
  });

  it('rejects a bad magic and an unsupported version', () => {
    expect(() => decodeNpy(Buffer.from('PK\x03\x04 not numpy'))).toThrow(/missing the \\x93NUMPY magic/);
    expect(() => decodeNpy(Buffer.alloc(0))).toThrow(/missing the \\x93NUMPY magic/);
    const v4 = Buffer.from(F4_06);
    v4[6] = 4;
    expect(() => decodeNpy(v4)).toThrow(/unsupported .npy format version 4.0/);
  });

  it('rejects truncated files wherever they end', () => {
    for (const end of [3, 7, 9, 50, 127, 128, 130]) {
      expect(() => decodeNpy(F4_06.subarray(0, end))).toThrow(NpyError);
    }
    expect(() => decodeNpy(F4_06.subarray(0, 130))).toThrow(/data is 2 bytes, shape \(1\) of '<f4' needs 4/);
    expect(() => decodeNpy(V2_F4.subarray(0, 11))).toThrow(/ends inside the header length/);
  });

  it('rejects a header length past the end of the file', () => {
    expect(() => decodeNpy(withHeaderLength(F4_06, 0xffff))).toThrow(/the header claims 65535 bytes, 122 follow/);
    const v2 = Buffer.from(V2_F4);
    v2.writeUInt32LE(0xffffffff, 8);
    expect(() => decodeNpy(v2)).toThrow(/truncated .npy file/);
  });

  it('rejects data that does not match the shape', () => {
    expect(() => decodeNpy(Buffer.concat([F4_06, Buffer.alloc(4)]))).toThrow(/data is 8 bytes, shape \(1\) of '<f4' needs 4/);
    // A header cut short (the length field says less than numpy wrote) leaves no readable dict.
    expect(() => decodeNpy(withHeaderLength(F4_06, 40))).toThrow(/malformed .npy header/);
  });

  it('rejects unsupported dtypes and Fortran order in 2 dimensions', () => {
    expect(() => decodeNpy(C8)).toThrow(/unsupported .npy dtype '<c8'/);
    expect(() => decodeNpy(FORTRAN_2X3)).toThrow(/Fortran-ordered .npy arrays of 2 dimensions/);
    expect(() => decodeNpy(Buffer.from(F4_06.toString('latin1').replace("'<f4'", "'=f4'"), 'latin1'))).toThrow(/unsupported .npy dtype '=f4'/);
  });
});
