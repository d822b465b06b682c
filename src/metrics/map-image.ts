/** A per-pixel metric map as an 8-bit grey PNG (min black, max white), for analysis pages and Sandbox. */
import sharp from 'sharp';

export async function mapPng(map: Float32Array, width: number, height: number): Promise<{ png: Buffer; min: number; max: number }> {
  let min = Infinity;
  let max = -Infinity;
  for (const v of map) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = max > min ? 255 / (max - min) : 0;
  const levels = Buffer.alloc(map.length);
  for (let i = 0; i < map.length; i++) levels[i] = Math.round((map[i] - min) * scale);
  const png = await sharp(levels, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  return { png, min, max };
}
