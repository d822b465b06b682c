/** Small image files for import tests, made with a real codec (sharp). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

export async function greyJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + seed * 31 + ((i / width) | 0) * 3) & 0xff;
  return sharp(pixels, { raw: { width, height, channels: 1 } }).jpeg({ quality: 90 }).toBuffer();
}

export async function grey16Png(width: number, height: number): Promise<{ png: Buffer; pixels: Uint16Array }> {
  const pixels = new Uint16Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 977) % 4096; // 12-bit data in 16-bit samples
  // A Uint16Array (not a Buffer) tells sharp the raw samples are 16-bit.
  const png = await sharp(pixels, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  return { png, pixels };
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A few hundred bytes that claim width x height pixels: a decompression bomb's header. */
export function pngBombHeader(width = 50_000, height = 50_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function writeTree(root: string, files: Record<string, Buffer | string>): void {
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
}

export interface PngSamples {
  /** Interleaved samples as stored (8 or 16 bit), as plain numbers. */
  data: number[];
  channels: number;
  depth: string;
  width: number;
  height: number;
}

/** Decodes a PNG to its samples as stored: without sharp's default conversion of grey to sRGB. */
export async function pngSamples(png: Buffer): Promise<PngSamples> {
  const meta = await sharp(png).metadata();
  const wide = meta.depth === 'ushort';
  const grey = meta.channels === 1;
  const { data, info } = await sharp(png)
    .toColourspace(grey ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb')
    .raw({ depth: wide ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const samples = wide ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  return { data: Array.from(samples), channels: info.channels, depth: meta.depth!, width: info.width, height: info.height };
}
