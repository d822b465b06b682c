import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { ingestImage } from '../../src/imaging/ingest';
import { collapseGreyRgb } from '../../src/imaging/pixels';
import type { IngestOptions } from '../../src/imaging/types';
import { expectImageError } from '../helpers/errors';
import { pngBombHeader, pngSamples } from '../helpers/files';

const OPTS: IngestOptions = { maxPixels: 50_000_000, pseudonymKey: Buffer.from('test-key') };

// ------------------------------------------------------------------ fixtures

function greyRamp(width: number, height: number): Buffer {
  const px = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px[y * width + x] = (x * 5 + y * 3 + ((x * y) % 17)) & 255;
  return px;
}

function rgbFromGrey(grey: Buffer): Buffer {
  const rgb = Buffer.alloc(grey.length * 3);
  for (let i = 0; i < grey.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
  return rgb;
}

async function greyJpeg(width = 64, height = 48): Promise<Buffer> {
  return sharp(greyRamp(width, height), { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .jpeg({ quality: 90 })
    .toBuffer();
}

function grey16(width: number, height: number): Uint16Array {
  const px = new Uint16Array(width * height);
  for (let i = 0; i < px.length; i++) px[i] = (i * 2654435761) % 65536;
  px[0] = 0;
  px[1] = 65535;
  return px;
}

async function grey16Png(width: number, height: number): Promise<{ png: Buffer; pixels: Uint16Array }> {
  const pixels = grey16(width, height);
  const png = await sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  return { png, pixels };
}

function pngChunkTypes(png: Buffer): string[] {
  const types: string[] = [];
  for (let pos = 8; pos < png.length; ) {
    const length = png.readUInt32BE(pos);
    types.push(png.toString('latin1', pos + 4, pos + 8));
    pos += 12 + length;
  }
  return types;
}

// ------------------------------------------------------------------ tests

describe('ingestImage: 8-bit sources', () => {
  it('stores a grey JPEG as a 1-channel 8-bit PNG with exactly the pixels sharp decodes', async () => {
    const jpeg = await greyJpeg(64, 48);
    const result = await ingestImage(jpeg, OPTS);
    expect(result).toMatchObject({ width: 64, height: 48, channels: 1, bitDepth: 8, format: 'jpeg', window: null });
    expect(result.dicom).toBeUndefined();
    expect(result.png[24]).toBe(8); // IHDR bit depth
    expect(result.png[25]).toBe(0); // IHDR colour type: grey
    const reference = await sharp(jpeg).toColourspace('b-w').raw().toBuffer();
    const stored = await pngSamples(result.png);
    expect(stored.channels).toBe(1);
    expect(Buffer.from(stored.data).equals(reference)).toBe(true);
  });

  it('stores an RGB-encoded grey JPEG (R = G = B) as one channel', async () => {
    const grey = greyRamp(40, 30);
    const jpeg = await sharp(rgbFromGrey(grey), { raw: { width: 40, height: 30, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(jpeg).metadata()).channels).toBe(3);
    const result = await ingestImage(jpeg, OPTS);
    expect(result).toMatchObject({ channels: 1, bitDepth: 8 });
    const decodedRgb = await sharp(jpeg).raw().toBuffer();
    const firstChannel = Buffer.from(Array.from({ length: 40 * 30 }, (_, i) => decodedRgb[3 * i]));
    expect(Buffer.from((await pngSamples(result.png)).data).equals(firstChannel)).toBe(true);
  });

  it('keeps genuine colour as 3 channels, pixel for pixel', async () => {
    const rgb = Buffer.alloc(32 * 16 * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) & 255;
    const png = await sharp(rgb, { raw: { width: 32, height: 16, channels: 3 } }).png().toBuffer();
    const result = await ingestImage(png, OPTS);
    expect(result).toMatchObject({ channels: 3, bitDepth: 8, format: 'png' });
    expect(result.png[25]).toBe(2); // RGB
    expect(Buffer.from((await pngSamples(result.png)).data).equals(rgb)).toBe(true);
  });

  it('keeps an image with a single coloured pixel in colour', async () => {
    const rgb = rgbFromGrey(greyRamp(20, 10));
    rgb[3 * 57 + 2] ^= 1;
    const png = await sharp(rgb, { raw: { width: 20, height: 10, channels: 3 } }).png().toBuffer();
    expect((await ingestImage(png, OPTS)).channels).toBe(3);
  });

  it('drops alpha (grey + alpha and RGBA grey both become 1 channel)', async () => {
    const grey = greyRamp(16, 8);
    const greyAlpha = Buffer.alloc(16 * 8 * 2);
    const rgba = Buffer.alloc(16 * 8 * 4);
    for (let i = 0; i < grey.length; i++) {
      greyAlpha[2 * i] = grey[i];
      greyAlpha[2 * i + 1] = i & 255;
      rgba.fill(grey[i], 4 * i, 4 * i + 3);
      rgba[4 * i + 3] = 255 - (i & 255);
    }
    for (const [raw, channels] of [[greyAlpha, 2], [rgba, 4]] as const) {
      const png = await sharp(raw, { raw: { width: 16, height: 8, channels } }).png().toBuffer();
      const result = await ingestImage(png, OPTS);
      expect(result).toMatchObject({ channels: 1, bitDepth: 8 });
      expect(Buffer.from((await pngSamples(result.png)).data).equals(grey)).toBe(true);
    }
  });

  it('stores a grey palette PNG as one channel', async () => {
    const grey = greyRamp(32, 32);
    const png = await sharp(grey, { raw: { width: 32, height: 32, channels: 1 } })
      .png({ palette: true, colours: 16, dither: 0 })
      .toBuffer();
    expect((await sharp(png).metadata()).isPalette).toBe(true);
    const result = await ingestImage(png, OPTS);
    expect(result.channels).toBe(1);
    const reference = await sharp(png).toColourspace('b-w').raw().toBuffer();
    expect(Buffer.from((await pngSamples(result.png)).data).equals(reference)).toBe(true);
  });

  it('reads WebP and 8-bit TIFF', async () => {
    const grey = greyRamp(24, 20);
    const webp = await sharp(rgbFromGrey(grey), { raw: { width: 24, height: 20, channels: 3 } })
      .webp({ lossless: true })
      .toBuffer();
    const tiff = await sharp(grey, { raw: { width: 24, height: 20, channels: 1 } })
      .toColourspace('b-w')
      .tiff({ compression: 'lzw' }) // sharp's default, JPEG, is lossy
      .toBuffer();
    for (const [file, format] of [[webp, 'webp'], [tiff, 'tiff']] as const) {
      const result = await ingestImage(file, OPTS);
      expect(result).toMatchObject({ format, channels: 1, bitDepth: 8, width: 24, height: 20 });
      expect(Buffer.from((await pngSamples(result.png)).data).equals(grey)).toBe(true);
    }
  });
});

describe('ingestImage: 16-bit sources', () => {
  it('keeps a 16-bit grey PNG at 16 bit with identical pixels (values above 255 included)', async () => {
    const { png, pixels } = await grey16Png(50, 30);
    const result = await ingestImage(png, OPTS);
    expect(result).toMatchObject({ width: 50, height: 30, channels: 1, bitDepth: 16, format: 'png' });
    expect(result.png[24]).toBe(16);
    const stored = await pngSamples(result.png);
    expect(stored.depth).toBe('ushort');
    expect(Array.from(stored.data)).toEqual(Array.from(pixels));
  });

  it('keeps a 16-bit TIFF at 16 bit and collapses 16-bit RGB grey to one channel', async () => {
    const pixels = grey16(20, 10);
    const tiff = await sharp(pixels, { raw: { width: 20, height: 10, channels: 1 } })
      .toColourspace('grey16')
      .tiff({ compression: 'deflate' }) // the default (JPEG) would be 8-bit
      .toBuffer();
    const rgb = new Uint16Array(pixels.length * 3);
    pixels.forEach((v, i) => rgb.fill(v, 3 * i, 3 * i + 3));
    const rgbPng = await sharp(rgb, { raw: { width: 20, height: 10, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    for (const file of [tiff, rgbPng]) {
      const result = await ingestImage(file, OPTS);
      expect(result).toMatchObject({ channels: 1, bitDepth: 16 });
      expect(Array.from((await pngSamples(result.png)).data)).toEqual(Array.from(pixels));
    }
  });
});

describe('ingestImage: orientation and metadata', () => {
  it('applies EXIF orientation so the stored pixels are upright', async () => {
    // 40 wide x 20 high; orientation 6 means "rotate 90 degrees clockwise to display".
    const grey = greyRamp(40, 20);
    const jpeg = await sharp(grey, { raw: { width: 40, height: 20, channels: 1 } })
      .toColourspace('b-w')
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const result = await ingestImage(jpeg, OPTS);
    expect(result).toMatchObject({ width: 20, height: 40 });
    const upright = await sharp(jpeg).autoOrient().toColourspace('b-w').raw().toBuffer();
    const unrotated = await sharp(jpeg).toColourspace('b-w').raw().toBuffer();
    const stored = Buffer.from((await pngSamples(result.png)).data);
    expect(stored.equals(upright)).toBe(true);
    expect(stored.equals(unrotated)).toBe(false);
    // Rotating clockwise puts the source's bottom-left pixel at the stored top-left.
    expect(stored[0]).toBe(unrotated[19 * 40]);
  });

  it('writes no metadata: the PNG has only IHDR, IDAT and IEND', async () => {
    const jpeg = await sharp(greyRamp(32, 32), { raw: { width: 32, height: 32, channels: 1 } })
      .toColourspace('b-w')
      .jpeg()
      .withExif({ IFD0: { Copyright: 'Doe^John', ImageDescription: 'patient 12345' } })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    const result = await ingestImage(jpeg, OPTS);
    expect(pngChunkTypes(result.png)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(result.png.includes('Doe^John')).toBe(false);
  });
});

describe('ingestImage: bad input', () => {
  it('rejects a JPEG cut in half as CORRUPT instead of padding it with grey', async () => {
    const jpeg = await greyJpeg(128, 128);
    await expectImageError(ingestImage(jpeg.subarray(0, jpeg.length >> 1), OPTS), 'CORRUPT', /JPEG.*(corrupt|truncated)/i);
    // Cut and re-terminated with an EOI marker: libjpeg only warns, and we still reject it.
    const reterminated = Buffer.concat([jpeg.subarray(0, jpeg.length >> 1), Buffer.from([0xff, 0xd9])]);
    await expectImageError(ingestImage(reterminated, OPTS), 'CORRUPT');
  });

  it('rejects a truncated PNG and a JPEG cut inside its header as CORRUPT', async () => {
    const { png } = await grey16Png(64, 64);
    await expectImageError(ingestImage(png.subarray(0, png.length - 100), OPTS), 'CORRUPT', /PNG/);
    const jpeg = await greyJpeg();
    await expectImageError(ingestImage(jpeg.subarray(0, 100), OPTS), 'CORRUPT', /JPEG/);
  });

  it('rejects random bytes, text and empty files as UNSUPPORTED_FORMAT', async () => {
    await expectImageError(ingestImage(randomBytes(4096), OPTS), 'UNSUPPORTED_FORMAT', /unrecognised file type/);
    await expectImageError(ingestImage(Buffer.from('PatientName,Label\nDoe,NORMAL\n'), OPTS), 'UNSUPPORTED_FORMAT', /text file/);
    await expectImageError(ingestImage(Buffer.alloc(0), OPTS), 'UNSUPPORTED_FORMAT', /empty/);
    await expectImageError(ingestImage(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), OPTS), 'UNSUPPORTED_FORMAT', /GIF/);
  });

  it('rejects a tiny PNG whose header claims 50000 x 50000 as TOO_LARGE, fast and without decoding', async () => {
    const bomb = pngBombHeader(50_000, 50_000);
    expect(bomb.length).toBeLessThan(200);
    const started = process.hrtime.bigint();
    const error = await expectImageError(ingestImage(bomb, OPTS), 'TOO_LARGE', /50000 x 50000/);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(elapsedMs).toBeLessThan(500);
    expect(error.message).toMatch(/limit of 50\.00 million/);
  });

  it('applies the pixel limit to ordinary images too', async () => {
    const jpeg = await greyJpeg(100, 100);
    await expectImageError(ingestImage(jpeg, { ...OPTS, maxPixels: 9_999 }), 'TOO_LARGE');
    await expect(ingestImage(jpeg, { ...OPTS, maxPixels: 10_000 })).resolves.toMatchObject({ width: 100 });
  });
});

describe('collapseGreyRgb', () => {
  const greyValues = Array.from({ length: 23 }, (_, i) => (i * 53) & 255); // 23 pixels: 5 words of 4 + a tail of 3
  const asRgb = (values: number[]) => Uint8Array.from(values.flatMap((v) => [v, v, v]));

  it('keeps the first channel when R = G = B everywhere (word path, tail, and misaligned input)', () => {
    const aligned = collapseGreyRgb({ data: asRgb(greyValues), width: 23, height: 1, channels: 3 });
    expect(aligned.channels).toBe(1);
    expect(Array.from(aligned.data)).toEqual(greyValues);
    const shifted = new Uint8Array(23 * 3 + 1);
    shifted.set(asRgb(greyValues), 1);
    const misaligned = collapseGreyRgb({ data: shifted.subarray(1), width: 23, height: 1, channels: 3 });
    expect(Array.from(misaligned.data)).toEqual(greyValues);
    const rgb16 = Uint16Array.from(greyValues.flatMap((v) => [v * 257, v * 257, v * 257]));
    const wide = collapseGreyRgb({ data: rgb16, width: 23, height: 1, channels: 3 });
    expect(wide.channels).toBe(1);
    expect(Array.from(wide.data)).toEqual(greyValues.map((v) => v * 257));
  });

  it('keeps all three channels when any single sample differs, wherever it is', () => {
    for (let sample = 0; sample < 23 * 3; sample++) {
      const rgb = asRgb(greyValues);
      rgb[sample] ^= 1;
      const result = collapseGreyRgb({ data: rgb, width: 23, height: 1, channels: 3 });
      expect(result.channels).toBe(3);
      expect(result.data).toBe(rgb);
    }
  });
});
