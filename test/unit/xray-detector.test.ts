/**
 * The detector-domain X-ray kinds against their stated model (native/include/medpsim/detector.hpp,
 * docs/xray-physics.md): measured noise on a synthetic phantom of flat bands against the predicted variance,
 * 1 / dose scaling, the noise power spectrum against the MTF's square, the signal-domain effects of scatter,
 * grid and exposure, and 8- and 16-bit images through the PNG store's conversion.
 *
 * Predictions, first order in the noise: the doses are chosen so that the relative noise of the signal is a few
 * per cent, where the log's second-order terms (var(ln(1 + x)) = var(x) (1 + 2.5 var(x)) for normal x) are below 1%:
 *   log response, T = exp(-M v):  var(v) = var(T) / (M T)^2;  linear, T = v (polarity -1):  var(v) = var(T)
 *   var(T) = (1 - f) T / (f N0) + (1 - f^2) sigma_e^2 / (f N0)^2    (quanta, then electronic noise)
 * The MTF taps are unit-energy, so the shaped quantum noise keeps that variance, and its power spectrum is
 * var x |H(fx)|^2 |H(fy)|^2 / mean(|H|^2), H the taps' transform, close to the Gaussian MTF
 * exp(-2 pi^2 sigma^2 f^2).
 */
import { applyDistortion } from '../../src/distortions/apply';
import { floatToPng, pngToFloat } from '../../src/imaging/float';
import { DEFAULT_RESPONSE, type DetectorResponse } from '../../src/imaging/detector-response';
import type { FloatImage } from '../../src/platform/native';

const M = 4;
const LINEAR_INVERTED: DetectorResponse = { mapping: 'linear', polarity: -1, attenuationRange: M, source: 'user' };

/** Vertical bands of constant display value, `band` px wide. */
function bands(values: number[], band: number, height: number): FloatImage {
  const width = values.length * band;
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = values[Math.floor(x / band)];
  return { data, width, height, channels: 1 };
}

/** Mean and variance of band b's interior (a margin of 8 px keeps the MTF's reach off the band edges). */
function bandStats(image: FloatImage, b: number, band: number) {
  let n = 0, sum = 0, squares = 0;
  for (let y = 8; y < image.height - 8; y++) {
    for (let x = b * band + 8; x < (b + 1) * band - 8; x++) {
      const v = image.data[y * image.width + x];
      n++;
      sum += v;
      squares += v * v;
    }
  }
  const mean = sum / n;
  return { mean, variance: squares / n - mean * mean };
}

async function distort(image: FloatImage, kind: string, params: Record<string, number>, response: DetectorResponse = DEFAULT_RESPONSE, seed = 11) {
  return (await applyDistortion(image, [{ kind, params }], seed, 'CPU', undefined, { response })).image;
}

function predictedVariance(v: number, dose: number, photons: number, electronic: number, response: DetectorResponse): number {
  const t = response.mapping === 'log' ? Math.exp(-M * v) : v;
  const signal = ((1 - dose) * t) / (dose * photons) + ((1 - dose * dose) * electronic ** 2) / (dose * photons) ** 2;
  return response.mapping === 'log' ? signal / (M * t) ** 2 : signal;
}

const VALUES = [0.1, 0.3, 0.5, 0.7];
const BAND = 96;

describe('quantum_noise: the dose reduction follows the model', () => {
  it('gives each flat region the predicted variance: exponential in the display value under the log response', async () => {
    const phantom = bands(VALUES, BAND, 384);
    const params = { dose: 0.25, photons: 40000, electronic_noise: 20, mtf_sigma: 0.8 };
    const out = await distort(phantom, 'quantum_noise', params);
    const logs: number[] = [];
    VALUES.forEach((v, b) => {
      const { variance } = bandStats(out, b, BAND);
      expect(variance / predictedVariance(v, 0.25, 40000, 20, DEFAULT_RESPONSE)).toBeCloseTo(1, 1); // within 5%
      logs.push(Math.log(variance));
    });
    // The slope of ln var against v is M (more where the electronic noise's share grows): the mediastinum is noisier.
    const slope = (logs[3] - logs[0]) / (VALUES[3] - VALUES[0]);
    const predictedSlope = (Math.log(predictedVariance(0.7, 0.25, 40000, 20, DEFAULT_RESPONSE)) - Math.log(predictedVariance(0.1, 0.25, 40000, 20, DEFAULT_RESPONSE))) / 0.6;
    expect(Math.abs(slope - predictedSlope)).toBeLessThan(0.2);
    expect(predictedSlope).toBeGreaterThan(M);
  });

  it('follows a linear detector image too (brighter is more intensity): variance proportional to the value', async () => {
    const phantom = bands(VALUES, BAND, 384);
    const out = await distort(phantom, 'quantum_noise', { dose: 0.1, photons: 5000, electronic_noise: 0, mtf_sigma: 0 }, LINEAR_INVERTED);
    VALUES.forEach((v, b) => {
      const { mean, variance } = bandStats(out, b, BAND);
      expect(mean).toBeCloseTo(v, 3);
      expect(variance / predictedVariance(v, 0.1, 5000, 0, LINEAR_INVERTED)).toBeCloseTo(1, 1);
    });
  });

  it('scales the total noise, the original image’s own included, as 1 / dose', async () => {
    const phantom = bands(VALUES, BAND, 384);
    const photons = 20000;
    const at = async (dose: number) => distort(phantom, 'quantum_noise', { dose, photons, electronic_noise: 0, mtf_sigma: 0.8 });
    const [high, low] = [await at(0.4), await at(0.1)];
    VALUES.forEach((v, b) => {
      const own = Math.exp(M * v) / (photons * M * M); // the original's full-dose noise under the same model
      const ratio = (bandStats(low, b, BAND).variance + own) / (bandStats(high, b, BAND).variance + own);
      expect(ratio / 4).toBeCloseTo(1, 1); // 0.4 / 0.1
    });
  });

  it('shapes the noise power spectrum by the MTF’s square', async () => {
    const size = 512, tile = 64, sigma = 1.2;
    const flat = bands([0.4], size, size);
    const out = await distort(flat, 'quantum_noise', { dose: 0.1, photons: 10000, electronic_noise: 0, mtf_sigma: sigma });
    // In the detector signal, where the noise is added (in display values the log would mix in its square).
    const noise = Array.from(out.data, (v) => Math.exp(-M * v) - Math.exp(-M * 0.4));
    const spectrum = averagePeriodogram(noise, size, tile);
    // Radial bins of 1/32 cycle per pixel up to 0.4 (beyond, the spectrum is below 1% of its peak).
    const measured = radial(spectrum, tile, 0.4, 1 / 32);
    // The expectation: white noise through the engine's taps (exp(-k^2 / 2 sigma^2), |k| <= ceil(3 sigma),
    // native/src/xray.cpp mtf_taps). The periodogram of a 64 x 64 tile is the Fejer-weighted transform of
    // the noise's autocorrelation, here separable: A(u) A(w), A(u) = sum over lags l of (1 - |l| / 64) a(l)
    // cos(2 pi u l / 64), a the taps' autocorrelation. Its limit for large tiles is the sampled MTF^2.
    const radius = Math.ceil(3 * sigma);
    const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
    const lagged = (l: number) => taps.reduce((sum, w, i) => sum + w * (taps[i + l] ?? 0), 0);
    const transform = (f: number, length: number) => {
      let sum = lagged(0);
      for (let l = 1; l <= 2 * radius; l++) sum += 2 * (1 - l / length) * lagged(l) * Math.cos(2 * Math.PI * f * l);
      return sum;
    };
    const spectrumOf = (length: number) =>
      radial(
        Array.from({ length: tile * tile }, (_, k) => transform(frequency(k % tile, tile), length) * transform(frequency(Math.floor(k / tile), tile), length)),
        tile,
        0.4,
        1 / 32,
      );
    const expected = spectrumOf(tile);
    const sampled = spectrumOf(Infinity); // |H(fx) H(fy)|^2: the sampled MTF^2
    const mtf2 = radial(
      Array.from({ length: tile * tile }, (_, k) => gaussianMtf2(frequency(k % tile, tile), sigma) * gaussianMtf2(frequency(Math.floor(k / tile), tile), sigma)),
      tile,
      0.4,
      1 / 32,
    );
    const scale = measured[0] / expected[0];
    expected.forEach((value, bin) => {
      if (value < 0.01 * expected[0]) return;
      expect(measured[bin] / (scale * value)).toBeGreaterThan(0.9);
      expect(measured[bin] / (scale * value)).toBeLessThan(1.1);
      // Where the MTF^2 is above a tenth of its peak, the sampled MTF^2 is the Gaussian's within 2%.
      if (mtf2[bin] > 0.1 * mtf2[0]) expect(Math.abs(sampled[bin] / sampled[0] / (mtf2[bin] / mtf2[0]) - 1)).toBeLessThan(0.02);
    });
    expect(measured[measured.length - 1] / measured[0]).toBeLessThan(0.05); // not white
  });

  it('is the exact identity at dose 1 and at severity 0, and deterministic in the seed', async () => {
    const phantom = bands(VALUES, 16, 32);
    expect((await distort(phantom, 'quantum_noise', { dose: 1 })).data).toEqual(phantom.data);
    const a = await distort(phantom, 'quantum_noise', { dose: 0.3 }, DEFAULT_RESPONSE, 5);
    expect((await distort(phantom, 'quantum_noise', { dose: 0.3 }, DEFAULT_RESPONSE, 5)).data).toEqual(a.data);
    expect((await distort(phantom, 'quantum_noise', { dose: 0.3 }, DEFAULT_RESPONSE, 6)).data).not.toEqual(a.data);
  });
});

describe('scatter, grid and exposure act on the detector signal', () => {
  it('scatter: SPR adds a veil to the signal, keeping the mean signal; contrast falls most behind dense tissue', async () => {
    // Two bands; the kernel far wider than the image, so the veil is the mean signal everywhere.
    const phantom = bands([0.2, 0.8], 64, 64);
    const spr = 1;
    const out = await distort(phantom, 'scatter', { spr, sigma: 400 });
    const t = [Math.exp(-M * 0.2), Math.exp(-M * 0.8)];
    const veil = (t[0] + t[1]) / 2;
    [0.2, 0.8].forEach((_, b) => {
      const expected = -Math.log((t[b] + spr * veil) / (1 + spr)) / M;
      expect(Math.abs(bandStats(out, b, 64).mean - expected)).toBeLessThan(0.01); // box passes approximate the Gaussian
    });
    // The dense band (0.8) loses more of its display value than the thin one gains.
    expect(0.8 - bandStats(out, 1, 64).mean).toBeGreaterThan(bandStats(out, 0, 64).mean - 0.2);
  });

  it('grid lines modulate the signal: the same display-value amplitude in dark and bright regions', async () => {
    const phantom = bands([0.15, 0.75], 64, 32);
    const out = await distort(phantom, 'grid_lines', { amplitude: 0.2, period: 8, angle: 90 });
    const swing = (x0: number) => {
      const row = Array.from(out.data.slice(16 * 128 + x0, 16 * 128 + x0 + 32));
      return Math.max(...row) - Math.min(...row);
    };
    // -ln((1 - a g) / (1 - a / 2)) / M swings by -ln(1 - a) / M from g = 0 to g = 1.
    expect(swing(16)).toBeCloseTo(-Math.log(0.8) / M, 4);
    expect(swing(80)).toBeCloseTo(-Math.log(0.8) / M, 4);
  });

  it('exposure: over-exposure saturates the thin regions first; auto-ranging keeps the rest; film-like without it', async () => {
    const phantom = bands([0.05, 0.5], 32, 32);
    const over = await distort(phantom, 'exposure', { exposure: 4, saturation: 1, compensation: 1 });
    // T = e^-0.2 at 0.05: 4 T saturates at 1, shown as ln(4) / M after ranging; T = e^-2 at 0.5 stays.
    expect(bandStats(over, 0, 32).mean).toBeCloseTo(Math.log(4) / M, 5);
    expect(bandStats(over, 1, 32).mean).toBeCloseTo(0.5, 5);
    const film = await distort(phantom, 'exposure', { exposure: 4, saturation: 1, compensation: 0 });
    expect(bandStats(film, 1, 32).mean).toBeCloseTo(0.5 - Math.log(4) / M, 5); // darker, as an over-exposed film
    const under = await distort(bands([0.5], 64, 64), 'exposure', { exposure: 0.25, photons: 10000, electronic_noise: 0, mtf_sigma: 0 });
    expect(bandStats(under, 0, 64).variance / predictedVariance(0.5, 0.25, 10000, 0, DEFAULT_RESPONSE)).toBeCloseTo(1, 1); // a dose reduction
  });
});

describe('8- and 16-bit images', () => {
  it.each([8, 16] as const)('%i-bit: severity 0 gives back the very samples; severity 0.5 changes them, at 16 bits finer than 8', async (bitDepth) => {
    const levels = bitDepth === 8 ? 255 : 65535;
    const phantom = bands([0.1, 0.35, 0.6, 0.85], 16, 32);
    const png = await floatToPng(phantom, bitDepth);
    const source = await pngToFloat(png);
    for (const kind of ['quantum_noise', 'scatter', 'grid_lines', 'exposure']) {
      const none = await applyDistortion(source, [{ kind, severity: 0 }], 1, 'CPU');
      expect(Buffer.compare(await floatToPng(none.image, bitDepth), png)).toBe(0);
      const some = await applyDistortion(source, [{ kind, severity: 0.5 }], 1, 'CPU');
      const back = await pngToFloat(await floatToPng(some.image, bitDepth));
      expect(back.data).not.toEqual(source.data);
      if (bitDepth === 16) {
        // Finer than 8 bits: samples that no 8-bit level (a multiple of 257) could hold.
        expect(Array.from(back.data).some((v) => Math.round(v * levels) % 257 !== 0)).toBe(true);
      }
    }
  });
});

// ----- spectra: a direct DFT, written for this test -----

const frequency = (k: number, n: number) => (k <= n / 2 ? k : k - n) / n;
const gaussianMtf2 = (f: number, sigma: number) => Math.exp(-4 * Math.PI * Math.PI * sigma * sigma * f * f);

/** |DFT|^2 of each tile x tile tile of a size x size field, averaged over the tiles (row-major frequencies). */
function averagePeriodogram(field: number[], size: number, tile: number): number[] {
  const cos = Array.from({ length: tile }, (_, k) => Math.cos((2 * Math.PI * k) / tile));
  const sin = Array.from({ length: tile }, (_, k) => Math.sin((2 * Math.PI * k) / tile));
  const power = new Array<number>(tile * tile).fill(0);
  const re = new Float64Array(tile * tile), im = new Float64Array(tile * tile);
  let tiles = 0;
  for (let ty = 0; ty + tile <= size; ty += tile) {
    for (let tx = 0; tx + tile <= size; tx += tile) {
      // Rows first: re/im[y][u] = sum_x f(y, x) e^{-2 pi i u x / n}.
      for (let y = 0; y < tile; y++) {
        for (let u = 0; u < tile; u++) {
          let r = 0, i = 0;
          for (let x = 0; x < tile; x++) {
            const v = field[(ty + y) * size + tx + x], k = (u * x) % tile;
            r += v * cos[k];
            i -= v * sin[k];
          }
          re[y * tile + u] = r;
          im[y * tile + u] = i;
        }
      }
      for (let u = 0; u < tile; u++) {
        for (let w = 0; w < tile; w++) {
          let r = 0, i = 0;
          for (let y = 0; y < tile; y++) {
            const k = (w * y) % tile, a = re[y * tile + u], b = im[y * tile + u];
            r += a * cos[k] + b * sin[k];
            i += b * cos[k] - a * sin[k];
          }
          power[w * tile + u] += r * r + i * i;
        }
      }
      tiles++;
    }
  }
  return power.map((p) => p / (tiles * tile * tile));
}

/** Radial means of a row-major spectrum over |f| bins of `width`, up to `limit` cycles per pixel (DC left out). */
function radial(spectrum: number[], tile: number, limit: number, width: number): number[] {
  const sums = new Array<number>(Math.floor(limit / width)).fill(0), counts = sums.map(() => 0);
  for (let w = 0; w < tile; w++) {
    for (let u = 0; u < tile; u++) {
      if (u === 0 && w === 0) continue;
      const f = Math.hypot(frequency(u, tile), frequency(w, tile));
      const bin = Math.floor(f / width);
      if (bin >= sums.length) continue;
      sums[bin] += spectrum[w * tile + u];
      counts[bin]++;
    }
  }
  return sums.map((s, bin) => s / counts[bin]);
}
