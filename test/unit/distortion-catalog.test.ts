import { CATALOG, FAMILIES, findKind } from '../../src/distortions/catalog';
import { paramsForSeverity, resolveChain, resolveParams, resolveStep } from '../../src/distortions/spec';
import { inputError } from '../helpers/errors';

const SIZE = { width: 512, height: 256 };


describe('the catalog', () => {
  it('covers the LPIPS table and the X-ray kinds, each once', () => {
    const names = CATALOG.map((kind) => kind.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of [
      'lightness_shift', 'color_shift', 'contrast', 'saturation',
      'uniform_noise', 'gaussian_noise', 'pink_noise', 'blue_noise', 'colored_noise', 'checkerboard',
      'gaussian_blur', 'bilateral',
      'shift', 'affine', 'homography', 'linear_warp', 'cubic_warp', 'ghosting', 'chromatic_aberration',
      'jpeg',
      'quantum_noise', 'motion_blur', 'grid_lines', 'dead_pixels', 'resolution_loss', 'exposure', 'windowing', 'scatter',
    ]) {
      expect(findKind(name)).toBeDefined();
    }
    for (const family of FAMILIES) expect(CATALOG.some((kind) => kind.family === family)).toBe(true);
  });

  it.each(CATALOG.map((kind) => [kind.name, kind] as const))('%s: defaults in range, severity names real parameters', (_name, kind) => {
    expect(kind.params.length).toBeGreaterThan(0);
    for (const param of kind.params) {
      expect(param.min).toBeLessThan(param.max);
      expect(param.default).toBeGreaterThanOrEqual(param.min);
      expect(param.default).toBeLessThanOrEqual(param.max);
      expect(param.unit.length).toBeGreaterThan(0);
      expect(param.name).toMatch(/^[a-z][a-z_]*$/);
    }
    const names = kind.params.map((param) => param.name);
    expect(Object.keys(kind.severity).length).toBeGreaterThan(0);
    for (const mapped of Object.keys(kind.severity)) expect(names).toContain(mapped);
  });

  it.each(CATALOG.map((kind) => [kind.name, kind] as const))('%s: severity stays in range and moves the parameters', (_name, kind) => {
    const weak = paramsForSeverity(kind, 0.1, SIZE);
    const strong = paramsForSeverity(kind, 1, SIZE);
    for (const param of kind.params) {
      for (const value of [weak[param.name], strong[param.name]]) {
        expect(value).toBeGreaterThanOrEqual(param.min);
        expect(value).toBeLessThanOrEqual(param.max);
        if (param.integer) expect(Number.isInteger(value)).toBe(true);
      }
    }
    expect(Object.keys(kind.severity).some((name) => weak[name] !== strong[name])).toBe(true);
  });

  it('scales pixel parameters with the image size', () => {
    const blur = findKind('gaussian_blur')!;
    expect(paramsForSeverity(blur, 0.5, { width: 256, height: 256 }).sigma).toBeCloseTo(1.536, 6);
    expect(paramsForSeverity(blur, 0.5, { width: 2048, height: 1024 }).sigma).toBeCloseTo(6.144, 6);
    const dose = findKind('quantum_noise')!;
    expect(paramsForSeverity(dose, 0, SIZE).dose).toBe(1);
    expect(paramsForSeverity(dose, 1, SIZE).dose).toBe(0.02);
    // Log-spaced, rounded to the parameter's precision: five significant digits of its range (0.01 to 1: 6 decimals).
    expect(paramsForSeverity(dose, 0.5, SIZE).dose).toBe(Number(Math.sqrt(0.02).toFixed(6)));
    expect(paramsForSeverity(findKind('gaussian_noise')!, 0.4, SIZE).sigma).toBe(0.08); // not 0.08000000000000002
  });
});

describe('resolving specs', () => {
  it('gives the detector-domain kinds the image’s detector response unless a step names it', () => {
    const linear = { ...SIZE, response: { mapping: 'linear', polarity: -1, attenuationRange: 6, source: 'dicom' } as const };
    for (const kind of ['quantum_noise', 'scatter', 'grid_lines', 'exposure']) {
      expect(resolveStep({ kind, severity: 0.5 }, SIZE).params).toMatchObject({ response: 0, polarity: 1, attenuation_range: 4 });
      expect(resolveStep({ kind, severity: 0.5 }, linear).params).toMatchObject({ response: 1, polarity: -1, attenuation_range: 6 });
      expect(resolveStep({ kind, params: {} }, linear).params).toMatchObject({ response: 1, polarity: -1, attenuation_range: 6 });
      expect(resolveStep({ kind, params: { polarity: 1 } }, linear).params).toMatchObject({ response: 1, polarity: 1, attenuation_range: 6 });
    }
    expect(findKind('windowing')!.params.some((param) => param.fromImage)).toBe(false); // a display-domain kind
    expect(inputError(() => resolveStep({ kind: 'scatter', params: { polarity: 0 } }, SIZE)).message).toContain('one of -1, 1');
  });

  it('fills defaults, keeps given values, and marks severity 0 as the identity', () => {
    expect(resolveStep({ kind: 'colored_noise', params: { beta: 1.5 } }, SIZE)).toEqual({
      kind: 'colored_noise',
      params: { sigma: 0.05, beta: 1.5 },
      severity: null,
      identity: false,
      model: null,
    });
    expect(resolveStep({ kind: 'gaussian_blur', severity: 0 }, SIZE)).toMatchObject({ identity: true, params: { sigma: 0 } });
    // Naming some of the amounts leaves the others at their identity: a rotation and a scale, no shear.
    expect(resolveStep({ kind: 'affine', params: { rotation: 4, scale: 1.05 } }, SIZE).params).toEqual({ rotation: 4, scale: 1.05, shear: 0, tx: 0, ty: 0 });
    // Naming none takes the defaults.
    expect(resolveStep({ kind: 'affine', params: {} }, SIZE).params).toEqual({ rotation: 5, scale: 1.05, shear: 3, tx: 0, ty: 0 });
    expect(resolveStep({ kind: 'jpeg', severity: 0 }, SIZE).identity).toBe(true);
  });

  it('CNN-based kinds name their model; mix 0 (or severity 0) is the identity; other kinds take none', () => {
    expect(resolveStep({ kind: 'gan_generator', severity: 0.5, model: 'g1' }, SIZE)).toMatchObject({
      model: 'g1',
      identity: false,
      params: { corruption: 0, level: 0.1, mix: 0.5 },
    });
    expect(resolveStep({ kind: 'dae_reconstruction', params: { mix: 0 }, model: 'd1' }, SIZE).identity).toBe(true);
    expect(resolveStep({ kind: 'gan_generator', severity: 0, model: 'g1' }, SIZE).identity).toBe(true);
    expect(inputError(() => resolveStep({ kind: 'gan_generator', severity: 0.5 }, SIZE))).toMatchObject({
      field: 'step.model',
      details: { task: 'gan-generator' },
    });
    expect(inputError(() => resolveStep({ kind: 'gaussian_blur', severity: 0.5, model: 'g1' }, SIZE)).field).toBe('step.model');
    expect(inputError(() => resolveStep({ kind: 'gan_generator', params: { corruption: 5 }, model: 'g1' }, SIZE))).toMatchObject({
      field: 'step.params.corruption',
      details: { min: 0, max: 4 },
    });
  });

  it('names the field and the range for every kind of bad input', () => {
    expect(inputError(() => resolveStep({ kind: 'gaussian_blur', params: { sigma: -1 } }, SIZE))).toMatchObject({
      field: 'step.params.sigma',
      details: { min: 0, max: 50, value: -1 },
    });
    expect(inputError(() => resolveStep({ kind: 'gaussian_blur', params: { sigma: NaN } }, SIZE)).message).toBe(
      'step.params.sigma: must be a finite number in [0, 50] px, got NaN',
    );
    expect(inputError(() => resolveStep({ kind: 'gaussian_blur', params: { radius: 3 } }, SIZE))).toMatchObject({
      field: 'step.params.radius',
      details: { allowed: ['sigma'] },
    });
    expect(inputError(() => resolveStep({ kind: 'jpeg', params: { quality: 50.5 } }, SIZE)).message).toContain('must be an integer');
    expect(inputError(() => resolveStep({ kind: 'grid_lines', params: { angle: 45 } }, SIZE)).message).toContain('one of 0, 90');
    expect(inputError(() => resolveStep({ kind: 'blurr' }, SIZE)).field).toBe('step.kind');
    expect(inputError(() => resolveStep({ kind: 'contrast', severity: 1.5 }, SIZE))).toMatchObject({
      field: 'step.severity',
      details: { min: 0, max: 1 },
    });
    expect(inputError(() => resolveStep({ kind: 'contrast', severity: 0.5, params: { factor: 2 } }, SIZE)).field).toBe('step');
    expect(inputError(() => resolveParams(findKind('shift')!, { dx: '3' as unknown as number }, { width: 64, height: 64 })).field).toBe('params.dx');
  });

  it('resolves chains of 1 to 8 steps and names the failing step', () => {
    const chain = resolveChain([{ kind: 'gaussian_noise', severity: 0.5 }, { kind: 'jpeg', params: { quality: 30 } }], SIZE);
    expect(chain.map((step) => [step.kind, step.params])).toEqual([
      ['gaussian_noise', { sigma: 0.1 }],
      ['jpeg', { quality: 30 }],
    ]);
    expect(inputError(() => resolveChain([], SIZE))).toMatchObject({ field: 'steps', details: { min: 1, max: 8 } });
    expect(inputError(() => resolveChain(Array(9).fill({ kind: 'contrast' }), SIZE)).field).toBe('steps');
    expect(inputError(() => resolveChain([{ kind: 'contrast' }, { kind: 'shift', params: { dx: 1e9 } }], SIZE)).field).toBe('steps[1].params.dx');
  });
});
