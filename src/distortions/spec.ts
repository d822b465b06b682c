/**
 * Distortion specs as clients send them, checked against the catalog and resolved to exact parameters.
 * A spec is one kind or a chain of kinds (applied in order, as BAPPS composes pairs); each step gives
 * either explicit parameters or a severity in [0, 1], never both.
 */
import { badUserInput } from '../platform/errors';
import { responseParams, type DetectorResponse } from '../imaging/detector-response';
import { CATALOG, findKind, type KindSpec, type ParamSpec, type SeverityMapping } from './catalog';

/** What steps are resolved for: the image's size and, for the detector-domain kinds, its detector response. */
export interface Target {
  width: number;
  height: number;
  response?: DetectorResponse | null;
}

/** A parameter's value when a step does not give it: the default, or the image's response for those that take it. */
function defaultFor(param: ParamSpec, target: Target): number {
  return param.fromImage ? responseParams(target.response)[param.name as keyof ReturnType<typeof responseParams>] : param.default;
}

export interface StepInput {
  kind: string;
  params?: Record<string, number> | null;
  severity?: number | null;
  /** The registered model a CNN-based kind runs (required there, refused elsewhere). */
  model?: string | null;
}

/**
 * A step with every parameter resolved; `identity` steps (severity 0, or mix 0 for the CNN-based kinds)
 * are copies, not kernel runs.
 */
export interface ResolvedStep {
  kind: string;
  params: Record<string, number>;
  severity: number | null;
  identity: boolean;
  model: string | null;
  /** The SHA-256 of the model's .onnx, set when the step has run. */
  modelSha256?: string;
}

export const MAX_CHAIN_LENGTH = 8;

function requireKind(field: string, name: string): KindSpec {
  const kind = findKind(name);
  if (!kind) {
    throw badUserInput(field, `unknown distortion kind "${name}"`, { allowed: CATALOG.map((k) => k.name) });
  }
  return kind;
}

/** A parameter value checked against its spec (finite, in range, integer, allowed): the error names the field. */
export function checkParamValue(field: string, param: ParamSpec, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw badUserInput(field, `must be a finite number in [${param.min}, ${param.max}] ${param.unit}, got ${String(value)}`, {
      min: param.min,
      max: param.max,
    });
  }
  if (value < param.min || value > param.max) {
    throw badUserInput(field, `must be in [${param.min}, ${param.max}] ${param.unit}, got ${value}`, {
      min: param.min,
      max: param.max,
      value,
    });
  }
  if (param.integer && !Number.isInteger(value)) throw badUserInput(field, `must be an integer, got ${value}`);
  if (param.allowed && !param.allowed.includes(value)) {
    throw badUserInput(field, `must be one of ${param.allowed.join(', ')}, got ${value}`, { allowed: param.allowed });
  }
  return value;
}

/**
 * Explicit parameters: every given one checked, unknown names refused, and the rest filled. A kind's amounts
 * are the parameters its severity scales (affine: rotation, scale, shear); the others only shape it (beta of
 * coloured noise). A step that names one of the amounts gets exactly the amounts it names: the other amounts
 * stay at their identity (their value at severity 0), so that naming a rotation adds no shear nobody asked
 * for. Otherwise unnamed parameters take their defaults.
 */
export function resolveParams(kind: KindSpec, given: Record<string, unknown>, size: Target, field = 'params'): Record<string, number> {
  const known = new Set(kind.params.map((param) => param.name));
  for (const name of Object.keys(given)) {
    if (!known.has(name)) {
      throw badUserInput(`${field}.${name}`, `not a parameter of ${kind.name}`, { allowed: [...known] });
    }
  }
  const namesAnAmount = Object.keys(given).some((name) => kind.severity[name] !== undefined);
  const identity = namesAnAmount ? paramsForSeverity(kind, 0, size) : null;
  const resolved: Record<string, number> = {};
  for (const param of kind.params) {
    if (param.name in given) resolved[param.name] = checkParamValue(`${field}.${param.name}`, param, given[param.name]);
    else resolved[param.name] = identity && kind.severity[param.name] ? identity[param.name] : defaultFor(param, size);
  }
  return resolved;
}

/** Decimal places a parameter is stated to: integers 0, others five significant digits of the parameter's range. */
export function decimalsOf(param: ParamSpec): number {
  if (param.integer) return 0;
  return Math.min(10, Math.max(0, 5 - Math.floor(Math.log10(param.max - param.min))));
}

function mapSeverity(mapping: SeverityMapping, severity: number, minSide: number): number {
  const value =
    mapping.curve === 'log'
      ? mapping.from * Math.pow(mapping.to / mapping.from, severity)
      : mapping.from + (mapping.to - mapping.from) * severity;
  return mapping.per === 'min_side' ? value * minSide : value;
}

/**
 * The parameters a severity stands for on an image of this size: clamped into each range and rounded to the
 * parameter's stated precision (decimalsOf), so that 0.4 gives sigma 0.08, not 0.08000000000000002.
 */
export function paramsForSeverity(kind: KindSpec, severity: number, size: Target): Record<string, number> {
  const minSide = Math.min(size.width, size.height);
  const resolved: Record<string, number> = {};
  for (const param of kind.params) {
    const mapping = kind.severity[param.name];
    if (!mapping) {
      resolved[param.name] = defaultFor(param, size);
      continue;
    }
    const value = mapSeverity(mapping, severity, minSide);
    const rounded = param.integer ? Math.round(value) : Number(value.toFixed(decimalsOf(param)));
    resolved[param.name] = Math.min(param.max, Math.max(param.min, rounded));
  }
  return resolved;
}

function resolveModel(kind: KindSpec, model: unknown, field: string): string | null {
  const given = model !== undefined && model !== null;
  if (!kind.model) {
    if (given) throw badUserInput(field, `${kind.name} runs no model; only the cnn family takes one`);
    return null;
  }
  if (typeof model !== 'string' || model.length === 0) {
    throw badUserInput(field, `${kind.name} needs the name of a registered ${kind.model} model`, { task: kind.model });
  }
  return model;
}

export function resolveStep(step: StepInput, size: Target, field = 'step'): ResolvedStep {
  const kind = requireKind(`${field}.kind`, step.kind);
  const model = resolveModel(kind, step.model, `${field}.model`);
  const hasParams = step.params !== undefined && step.params !== null;
  const hasSeverity = step.severity !== undefined && step.severity !== null;
  if (hasParams && hasSeverity) throw badUserInput(field, 'give either params or severity, not both');
  if (hasSeverity) {
    const severity = step.severity!;
    if (typeof severity !== 'number' || !Number.isFinite(severity) || severity < 0 || severity > 1) {
      throw badUserInput(`${field}.severity`, `must be a number in [0, 1], got ${String(severity)}`, { min: 0, max: 1 });
    }
    return { kind: kind.name, params: paramsForSeverity(kind, severity, size), severity, identity: severity === 0, model };
  }
  const params = resolveParams(kind, step.params ?? {}, size, `${field}.params`);
  return { kind: kind.name, params, severity: null, identity: kind.model !== undefined && params.mix === 0, model };
}

/** A chain of 1..MAX_CHAIN_LENGTH steps, resolved for an image of this size. */
export function resolveChain(steps: StepInput[], size: Target, field = 'steps'): ResolvedStep[] {
  if (!Array.isArray(steps) || steps.length < 1 || steps.length > MAX_CHAIN_LENGTH) {
    throw badUserInput(field, `must hold 1 to ${MAX_CHAIN_LENGTH} steps, got ${Array.isArray(steps) ? steps.length : 'none'}`, {
      min: 1,
      max: MAX_CHAIN_LENGTH,
    });
  }
  return steps.map((step, index) => resolveStep(step, size, `${field}[${index}]`));
}
