/**
 * A test set's definition: what a client sends (checked here, every field against its range) and the
 * normalised, versioned JSON stored with the set. Building reads only the stored form, so a set is rebuilt
 * from it and its seed exactly.
 */
import { CATALOG, CORRUPTIONS, FAMILIES, findKind, type Corruption, type Family } from '../distortions/catalog';
import { badUserInput, checkOptionalText, checkText, requireIntInRange } from '../platform/errors';
import { ZOO_POOL_DEFAULTS } from '../training/zoo-knobs';

export const DEFINITION_SCHEMA = 1;
export type TestSetKind = 'TWO_AFC' | 'JND';
export type UnitMode = 'PATCH' | 'WHOLE';
/** 2AFC: how p1's distortion is drawn once p0's is. */
export type Pairing = 'SAME_CATEGORY' | 'SAME_ENTRY' | 'ANY';

export const LIMITS = {
  references: { min: 1, max: 100_000 },
  size: { min: 32, max: 1024, default: 256 },
  patchesPerImage: { min: 1, max: 64, default: 1 },
  pool: { min: 1, max: 256 },
  weight: { min: 1e-6, max: 1e6 },
  sentinels: { min: 0, max: 1000 },
  practice: { min: 0, max: 200 },
} as const;

export interface PoolEntryInput {
  /** One kind, or two applied in order (a composition, as BAPPS has). */
  kinds?: string[] | null;
  /** Instead of kinds: any kind of this family, drawn per item. */
  family?: string | null;
  severityMin?: number | null;
  severityMax?: number | null;
  weight?: number | null;
  /** The registered model of a CNN-based kind. */
  model?: string | null;
  /** Instead of kinds or family: a member of this generator zoo, drawn per item (the severity is the mix). */
  zoo?: string | null;
  /** Zoo entries: the input corruptions drawn from (default: those of grey images). */
  corruptions?: string[] | null;
  levelMin?: number | null;
  levelMax?: number | null;
  category?: string | null;
}

export interface TestSetDefinitionInput {
  name: string;
  kind: TestSetKind;
  datasetId: string;
  splits?: string[] | null;
  labels?: string[] | null;
  references: number;
  unit?: UnitMode | null;
  size?: number | null;
  patchesPerImage?: number | null;
  pool: PoolEntryInput[];
  pairing?: Pairing | null;
  identicalShare?: number | null;
  sentinels?: number | null;
  practice?: number | null;
  seed: number;
}

/** A zoo entry's draws, with the zoo's members frozen when the set is created (so it rebuilds exactly). */
export interface ZooPool {
  name: string;
  corruptions: Corruption[];
  level: [number, number];
  /** Filled from the zoo by the service (testsets/service.ts) before the definition is stored. */
  members: Array<{ index: number; model: string; kind: string; sha256: string }>;
}

export interface PoolEntry {
  kinds: string[] | null;
  family: Family | null;
  severity: [number, number];
  weight: number;
  model: string | null;
  /** Absent in definitions stored before zoos existed. */
  zoo?: ZooPool | null;
  category: string;
}


/** The stored form (definition JSON, schema 1). */
export interface TestSetDefinition {
  schema: typeof DEFINITION_SCHEMA;
  kind: TestSetKind;
  source: { datasetId: string; splits: string[] | null; labels: string[] | null; references: number };
  unit: { mode: UnitMode; size: number; patchesPerImage: number };
  pool: PoolEntry[];
  pairing: Pairing;
  identicalShare: number;
  sentinels: number;
  practice: number;
}

/** The category an entry's items get unless the client names one. */
export function defaultCategory(kinds: string[] | null, family: Family | null): string {
  if (kinds && kinds.length > 1) return 'mixed';
  const of = family ?? findKind(kinds![0])!.family;
  return of === 'cnn' ? 'cnn' : of === 'xray' ? 'xray' : 'traditional';
}

function checkFraction(field: string, value: number, min = 0, max = 1): number {
  if (!Number.isFinite(value) || value < min || value > max) throw badUserInput(field, `must be a number in [${min}, ${max}], got ${value}`, { min, max });
  return value;
}

function checkList(field: string, values: string[] | null | undefined): string[] | null {
  if (!values || values.length === 0) return null;
  if (values.length > 32) throw badUserInput(field, 'give at most 32 values');
  return [...new Set(values.map((value, index) => checkText(`${field}[${index}]`, value, 100)))].sort();
}

function checkZooEntry(entry: PoolEntryInput, field: string): ZooPool {
  const name = checkText(`${field}.zoo`, entry.zoo!, 100);
  if (entry.model) throw badUserInput(`${field}.model`, 'a zoo entry draws its members: give no model');
  let corruptions = ZOO_POOL_DEFAULTS.corruptions;
  if (entry.corruptions) {
    if (entry.corruptions.length === 0) throw badUserInput(`${field}.corruptions`, `give at least one of ${CORRUPTIONS.join(', ')}`);
    entry.corruptions.forEach((corruption, index) => {
      if (!(CORRUPTIONS as readonly string[]).includes(corruption)) {
        throw badUserInput(`${field}.corruptions[${index}]`, `must be one of ${CORRUPTIONS.join(', ')}, got ${JSON.stringify(String(corruption).slice(0, 40))}`, { allowed: CORRUPTIONS });
      }
    });
    corruptions = CORRUPTIONS.filter((corruption) => entry.corruptions!.includes(corruption));
  }
  const low = checkFraction(`${field}.levelMin`, entry.levelMin ?? ZOO_POOL_DEFAULTS.level[0]);
  const high = checkFraction(`${field}.levelMax`, entry.levelMax ?? ZOO_POOL_DEFAULTS.level[1]);
  if (low > high) throw badUserInput(`${field}.levelMin`, `must not exceed levelMax (${high}), got ${low}`);
  return { name, corruptions, level: [low, high], members: [] };
}

function checkEntry(entry: PoolEntryInput, field: string): PoolEntry {
  if ([entry.kinds?.length, entry.family, entry.zoo].filter(Boolean).length !== 1) {
    throw badUserInput(field, 'give one of kinds (one, or two for a composition), family or zoo');
  }
  if (!entry.zoo && (entry.corruptions || entry.levelMin != null || entry.levelMax != null)) {
    throw badUserInput(`${field}.corruptions`, 'corruptions, levelMin and levelMax apply to zoo entries only');
  }
  let kinds: string[] | null = null;
  let family: Family | null = null;
  let zoo: ZooPool | null = null;
  let model = checkOptionalText(`${field}.model`, entry.model, 200);
  if (entry.zoo) {
    zoo = checkZooEntry(entry, field);
  } else if (entry.kinds?.length) {
    if (entry.kinds.length > 2) throw badUserInput(`${field}.kinds`, `give one kind, or two for a composition; got ${entry.kinds.length}`);
    kinds = entry.kinds.map((name, index) => {
      const kind = findKind(name);
      if (!kind) throw badUserInput(`${field}.kinds[${index}]`, `unknown distortion kind "${String(name).slice(0, 80)}"`);
      if (kind.model && !model) throw badUserInput(`${field}.model`, `${kind.name} runs a registered model: name it`);
      return kind.name;
    });
    if (model && !kinds.some((name) => findKind(name)!.model)) throw badUserInput(`${field}.model`, 'only CNN-based kinds run a model');
  } else {
    if (!(FAMILIES as readonly string[]).includes(entry.family!)) throw badUserInput(`${field}.family`, `must be one of ${FAMILIES.join(', ')}`);
    family = entry.family as Family;
    if (family === 'cnn') throw badUserInput(`${field}.family`, 'CNN-based kinds each run a model: name the kind and its model instead');
    model = null;
  }
  const low = checkFraction(`${field}.severityMin`, entry.severityMin ?? 0.1);
  const high = checkFraction(`${field}.severityMax`, entry.severityMax ?? 1);
  if (low > high) throw badUserInput(`${field}.severityMin`, `must not exceed severityMax (${high}), got ${low}`);
  const weight = checkFraction(`${field}.weight`, entry.weight ?? 1, LIMITS.weight.min, LIMITS.weight.max);
  const category = checkOptionalText(`${field}.category`, entry.category, 64) ?? (zoo ? 'cnn' : defaultCategory(kinds, family));
  return { kinds, family, severity: [low, high], weight, model, ...(zoo ? { zoo } : {}), category };
}

/** Checks what a client sent (without the database) and returns the stored form. */
export function normaliseDefinition(input: TestSetDefinitionInput): TestSetDefinition {
  if (input.kind !== 'TWO_AFC' && input.kind !== 'JND') throw badUserInput('kind', 'must be TWO_AFC or JND');
  const mode = input.unit ?? 'PATCH';
  if (mode !== 'PATCH' && mode !== 'WHOLE') throw badUserInput('unit', 'must be PATCH or WHOLE');
  const size = requireIntInRange('size', input.size ?? LIMITS.size.default, LIMITS.size.min, LIMITS.size.max);
  const patchesPerImage = mode === 'WHOLE' ? 1 : requireIntInRange('patchesPerImage', input.patchesPerImage ?? 1, 1, LIMITS.patchesPerImage.max);
  if (mode === 'WHOLE' && (input.patchesPerImage ?? 1) !== 1) throw badUserInput('patchesPerImage', 'a WHOLE-image unit has one item per image');
  const references = requireIntInRange('references', input.references, LIMITS.references.min, LIMITS.references.max);
  const poolSize = input.pool?.length ?? 0;
  if (poolSize < LIMITS.pool.min) throw badUserInput('pool', 'the distortion pool is empty: give at least one entry');
  if (poolSize > LIMITS.pool.max) throw badUserInput('pool', `give at most ${LIMITS.pool.max} entries, got ${poolSize}`);
  const pool = input.pool.map((entry, index) => checkEntry(entry, `pool[${index}]`));
  const pairing = input.pairing ?? 'SAME_CATEGORY';
  if (!['SAME_CATEGORY', 'SAME_ENTRY', 'ANY'].includes(pairing)) throw badUserInput('pairing', 'must be SAME_CATEGORY, SAME_ENTRY or ANY');
  if (input.kind === 'JND' && input.pairing) throw badUserInput('pairing', 'applies to TWO_AFC sets only');
  if (input.kind === 'TWO_AFC' && input.identicalShare !== null && input.identicalShare !== undefined) {
    throw badUserInput('identicalShare', 'applies to JND sets only');
  }
  const identicalShare = input.kind === 'JND' ? checkFraction('identicalShare', input.identicalShare ?? 0.25, 0, 0.9) : 0;
  return {
    schema: DEFINITION_SCHEMA,
    kind: input.kind,
    source: { datasetId: input.datasetId, splits: checkList('splits', input.splits), labels: checkList('labels', input.labels), references },
    unit: { mode, size, patchesPerImage },
    pool,
    pairing: input.kind === 'TWO_AFC' ? pairing : 'SAME_CATEGORY',
    identicalShare,
    sentinels: requireIntInRange('sentinels', input.sentinels ?? 0, LIMITS.sentinels.min, LIMITS.sentinels.max),
    practice: requireIntInRange('practice', input.practice ?? 0, LIMITS.practice.min, LIMITS.practice.max),
  };
}

/** Kinds a family entry draws from: the catalog's kinds of that family, without colour kinds on grey images. */
export function familyKinds(family: Family, colour: boolean): string[] {
  return CATALOG.filter((kind) => kind.family === family && !kind.model && (colour || !kind.needsColor)).map((kind) => kind.name);
}
