/** A zoo's knob ranges (checks, errors naming the field) and the seeded draw of each member's knobs. */
import { inputError } from '../helpers/errors';
import { checkTrainingOptions, TrainingTask } from '../../src/training/options';
import { degeneracy, DEFAULT_GUARD, memberName } from '../../src/training/zoo';
import { checkRanges, defaultRanges, drawKnobs, knobOptions, sizeNeeds, ZOO_KNOBS, type KnobRanges } from '../../src/training/zoo-knobs';

/** Every drawn knob lies in its range (per-level knobs within the drawn layers - 1). */
function expectWithin(knobs: Record<string, unknown>, ranges: KnobRanges): void {
  for (const [name, value] of Object.entries(knobs)) {
    const knob = ZOO_KNOBS.find((k) => k.name === name)!;
    const range = ranges[name];
    if (knob.type === 'choice') expect(range).toContain(value);
    else {
      const [low, high] = range as [number, number];
      const top = knob.perLevel ? Math.min(high, Number(knobs.gLayers) - 1) : high;
      expect(value).toBeGreaterThanOrEqual(Math.min(low, top) * (1 - 1e-3)); // 4 significant digits
      expect(value).toBeLessThanOrEqual(top * (1 + 1e-3));
      if (knob.type === 'int') expect(Number.isInteger(value)).toBe(true);
    }
  }
}

it('fills every knob the request leaves out with its default range', () => {
  const ranges = checkRanges({ gLayers: [2, 3], gUpsample: ['bilinear', 'transpose'] });
  expect(ranges.gLayers).toEqual([2, 3]);
  expect(ranges.gUpsample).toEqual(['transpose', 'bilinear']); // catalog order
  expect(ranges.lr).toEqual(defaultRanges().lr);
  expect(Object.keys(ranges).sort()).toEqual(ZOO_KNOBS.map((k) => k.name).sort());
});

it.each([
  [{ gLayerz: [2, 3] }, 'ranges.gLayerz', /unknown knob/],
  [{ gLayers: [5, 3] }, 'ranges.gLayers', /min 5 exceeds max 3/],
  [{ gLayers: [1, 3] }, 'ranges.gLayers[0]', /integers in \[2, 10\]/],
  [{ gLayers: [2.5, 3] }, 'ranges.gLayers[0]', /integers/],
  [{ gLayers: 3 }, 'ranges.gLayers', /give \[min, max\]/],
  [{ lr: [0, 1e-3] }, 'ranges.lr[0]', /\[1e-6, 1\]|\[0.000001, 1\]/],
  [{ gUpsample: [] }, 'ranges.gUpsample', /non-empty list/],
  [{ gUpsample: ['pixelshuffle'] }, 'ranges.gUpsample[0]', /transpose, nearest, bilinear/],
  [{ wPixel: [0, 0], wFeature: [0, 0], wAdv: [0, 0] }, 'ranges.wPixel', /every loss weight is 0/],
])('refuses %j: BAD_USER_INPUT on %s', (ranges, field, message) => {
  const error = inputError(() => checkRanges(ranges));
  expect(error.field).toBe(field);
  expect(error.message).toMatch(message);
});

it('draws the same knobs for the same seed, member and draw, and others otherwise, always within the ranges', () => {
  const ranges = checkRanges({ gLayers: [2, 4], gSkips: [1, 9] });
  const first = drawKnobs(ranges, 7, 0, 0);
  expect(drawKnobs(ranges, 7, 0, 0)).toEqual(first);
  expect(drawKnobs(ranges, 7, 1, 0)).not.toEqual(first);
  expect(drawKnobs(ranges, 7, 0, 1)).not.toEqual(first);
  expect(drawKnobs(ranges, 8, 0, 0)).not.toEqual(first);
  const objectives = new Set<unknown>();
  for (let index = 0; index < 200; index++) {
    const knobs = drawKnobs(ranges, 7, index, 0);
    expectWithin(knobs, ranges);
    objectives.add(knobs.objective);
    // Only the knobs a member uses.
    expect('targetKind' in knobs).toBe(knobs.objective === 'imitate');
    expect('inputLevel' in knobs).toBe(knobs.inputCorruption !== 'none');
    expect('dLayers' in knobs).toBe(knobs.wAdv !== 0);
    // Its trainer options pass the trainer's own checks.
    expect(() => checkTrainingOptions(TrainingTask.GAN, knobOptions(knobs))).not.toThrow();
  }
  expect([...objectives].sort()).toEqual(['imitate', 'reconstruct']);
});

it('turns the target strength into the option of its kind', () => {
  const ranges = checkRanges({ objective: ['imitate'], targetKind: ['uniform_noise'], targetStrength: [0.1, 0.1] });
  const options = knobOptions(drawKnobs(ranges, 1, 0, 0));
  expect(options).toMatchObject({ objective: 'imitate', targetKind: 'uniform_noise', targetAmplitude: 0.1 });
  expect(options).not.toHaveProperty('targetStrength');
});

it('never draws all three loss weights 0 when one range reaches above 0', () => {
  const ranges = checkRanges({ wPixel: [0, 0], wFeature: [0, 0], wAdv: [0, 1e-9] });
  for (let index = 0; index < 20; index++) expect(Number(drawKnobs(ranges, 3, index, 0).wAdv)).toBeGreaterThan(0);
});

it('states the image size the largest generator and discriminator of the ranges need', () => {
  expect(sizeNeeds(checkRanges({ gLayers: [3, 6], dLayers: [1, 4] }))).toEqual({ multiple: 64, discriminator: 48 });
  expect(sizeNeeds(checkRanges({ gLayers: [3, 6], gFirstStride: [1] }))).toEqual({ multiple: 32, discriminator: 24 });
});

it('calls a draw degenerate when it is (nearly) the identity, (nearly) constant, or not finite', () => {
  const stats = { rmsChange: 0.05, contrastRatio: 0.9, finite: true, images: 4, on: 'test' };
  expect(degeneracy(stats, DEFAULT_GUARD)).toBeNull();
  expect(degeneracy({ ...stats, rmsChange: 0.001 }, DEFAULT_GUARD)).toMatch(/nearly the identity/);
  expect(degeneracy({ ...stats, contrastRatio: 0.01 }, DEFAULT_GUARD)).toMatch(/nearly constant/);
  expect(degeneracy({ ...stats, finite: false }, DEFAULT_GUARD)).toMatch(/not finite/);
  expect(degeneracy(undefined, DEFAULT_GUARD)).toMatch(/no guard statistics/);
  expect(memberName('zoo', 7)).toBe('zoo-m007');
});
