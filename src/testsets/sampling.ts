/**
 * Every random choice of a test set, drawn from its definition and seed before any pixel is touched: which
 * source image each item comes from, which distortions (kind, severity, seed) p0 and p1 get, which JND pairs
 * are identical. Each role draws from a stream of its own, so adding sentinels never changes the items.
 * Where a patch goes is decided when the item is built, from the seed and the image's pixels (patches.ts).
 */
import { CORRUPTIONS, findKind } from '../distortions/catalog';
import type { StepInput } from '../distortions/spec';
import { hashU32, RandomStream } from '../synth/random';
import { familyKinds, type PoolEntry, type TestSetDefinition } from './definition';

export type ItemRole = 'ITEM' | 'SENTINEL' | 'PRACTICE';
export type ExpectedAnswer = 'P0' | 'P1' | 'SAME' | 'DIFFERENT';

export interface DistortionChoice {
  /** Steps as the engine takes them (kind, severity, model). */
  steps: StepInput[];
  seed: number;
  /** The pool entry it was drawn from (null for sentinels). */
  entry: number | null;
  /** A zoo entry's draw: which member (its step's params say the corruption, level and mix). */
  zoo?: { name: string; member: number };
}

export interface PlannedItem {
  position: number;
  role: ItemRole;
  category: string;
  imageId: string;
  split: string | null;
  /** Which patch of its image (patches of one image differ by position's stream). */
  patch: number;
  /** 2AFC: both distorted; JND: p0 is the reference (null), p1 distorted or null when identical. */
  p0: DistortionChoice | null;
  p1: DistortionChoice | null;
  kinds: string[];
  identical: boolean;
  /** Sentinels and practice items have an obvious answer (what quality checks and feedback compare with). */
  expected: ExpectedAnswer | null;
}

export interface SourceImage {
  id: string;
  split: string | null;
  channels: number;
}

const STREAM = { images: 1, ITEM: 2, SENTINEL: 3, PRACTICE: 4, distortionSeeds: 5 } as const;
/** Sentinels: the same kind, weak against strong (2AFC), or a strong one against the reference (JND). */
const SENTINEL_KIND = 'gaussian_noise';
const WEAK = 0.05;
const STRONG = 0.9;

function shuffled<T>(items: readonly T[], random: RandomStream): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function weightedIndex(entries: readonly PoolEntry[], candidates: readonly number[], random: RandomStream): number {
  const total = candidates.reduce((sum, index) => sum + entries[index].weight, 0);
  let point = random.uniform() * total;
  for (const index of candidates) {
    point -= entries[index].weight;
    if (point < 0) return index;
  }
  return candidates[candidates.length - 1];
}

/** A zoo member, an input corruption and its level and the mix (the severity), drawn in that order. */
function zooSteps(entry: PoolEntry, random: RandomStream, severity?: number): StepInput[] {
  const zoo = entry.zoo!;
  const member = random.pick(zoo.members);
  const corruption = random.pick(zoo.corruptions);
  const level = Number(random.range(zoo.level[0], zoo.level[1]).toFixed(4));
  const mix = severity ?? Number(random.range(entry.severity[0], entry.severity[1]).toFixed(4));
  return [{ kind: member.kind, params: { corruption: CORRUPTIONS.indexOf(corruption), level, mix }, model: member.model }];
}

/** The step at another severity (a zoo step's severity is its mix). */
function atSeverity(step: StepInput, severity: number): StepInput {
  return step.params ? { ...step, params: { ...step.params, mix: severity } } : { ...step, severity };
}

function stepsOf(entry: PoolEntry, random: RandomStream, colour: boolean, severity?: number): StepInput[] {
  if (entry.zoo) return zooSteps(entry, random, severity);
  const kinds = entry.kinds ?? [random.pick(familyKinds(entry.family!, colour))];
  return kinds.map((kind) => ({
    kind,
    severity: severity ?? Number(random.range(entry.severity[0], entry.severity[1]).toFixed(4)),
    ...(findKind(kind)!.model ? { model: entry.model } : {}),
  }));
}

/** Plans every item: main items first (positions 0..references-1), then sentinels, then practice items. */
export function planItems(definition: TestSetDefinition, seed: number, sources: readonly SourceImage[]): PlannedItem[] {
  const { pool, unit } = definition;
  const colour = sources.every((image) => image.channels === 3);
  const order = shuffled(sources, new RandomStream(seed, STREAM.images));
  const imagesUsed = Math.ceil(definition.source.references / unit.patchesPerImage);
  const all = pool.map((_, index) => index);
  const items: PlannedItem[] = [];
  const choice = (position: number, side: 0 | 1, steps: StepInput[], entry: number | null): DistortionChoice => {
    const zoo = entry === null ? null : pool[entry].zoo;
    const member = zoo?.members.find((candidate) => candidate.model === steps[0].model);
    return {
      steps,
      seed: hashU32(seed, STREAM.distortionSeeds, position * 2 + side),
      entry,
      ...(zoo && member ? { zoo: { name: zoo.name, member: member.index } } : {}),
    };
  };
  const push = (item: Omit<PlannedItem, 'position' | 'imageId' | 'split' | 'patch' | 'kinds'>, image: SourceImage, patch: number) => {
    const kinds = [...new Set([...(item.p0?.steps ?? []), ...(item.p1?.steps ?? [])].map((step) => step.kind))].sort();
    items.push({ ...item, position: items.length, imageId: image.id, split: image.split, patch, kinds });
  };

  const random = new RandomStream(seed, STREAM.ITEM);
  for (let index = 0; index < definition.source.references; index++) {
    const image = order[Math.floor(index / unit.patchesPerImage)];
    const patch = index % unit.patchesPerImage;
    const position = items.length;
    const first = weightedIndex(pool, all, random);
    if (definition.kind === 'TWO_AFC') {
      const candidates =
        definition.pairing === 'SAME_ENTRY' ? [first] : definition.pairing === 'ANY' ? all : all.filter((i) => pool[i].category === pool[first].category);
      const second = weightedIndex(pool, candidates, random);
      const category = pool[first].category === pool[second].category ? pool[first].category : 'mixed';
      const p0 = choice(position, 0, stepsOf(pool[first], random, colour), first);
      const p1 = choice(position, 1, stepsOf(pool[second], random, colour), second);
      push({ role: 'ITEM', category, p0, p1, identical: false, expected: null }, image, patch);
    } else {
      const identical = random.chance(definition.identicalShare);
      const p1 = identical ? null : choice(position, 1, stepsOf(pool[first], random, colour), first);
      push({ role: 'ITEM', category: pool[first].category, p0: null, p1, identical, expected: null }, image, patch);
    }
  }

  // Sentinels and practice items come from the images after those the items use (wrapping around).
  let extra = 0;
  const nextImage = () => order[(imagesUsed + extra++) % order.length];
  const sentinelRandom = new RandomStream(seed, STREAM.SENTINEL);
  const sentinel = { kinds: [SENTINEL_KIND], family: null, severity: [WEAK, STRONG], weight: 1, model: null, category: 'sentinel' } satisfies PoolEntry;
  for (let index = 0; index < definition.sentinels; index++) {
    const position = items.length;
    if (definition.kind === 'TWO_AFC') {
      const weakFirst = sentinelRandom.chance(0.5);
      const p0 = choice(position, 0, stepsOf(sentinel, sentinelRandom, colour, weakFirst ? WEAK : STRONG), null);
      const p1 = choice(position, 1, stepsOf(sentinel, sentinelRandom, colour, weakFirst ? STRONG : WEAK), null);
      push({ role: 'SENTINEL', category: 'sentinel', p0, p1, identical: false, expected: weakFirst ? 'P0' : 'P1' }, nextImage(), 0);
    } else {
      // As in BAPPS: four identical pairs for every heavily distorted one.
      const identical = index % 5 !== 4;
      const p1 = identical ? null : choice(position, 1, stepsOf(sentinel, sentinelRandom, colour, 1), null);
      push({ role: 'SENTINEL', category: 'sentinel', p0: null, p1, identical, expected: identical ? 'SAME' : 'DIFFERENT' }, nextImage(), 0);
    }
  }

  // Practice items use the pool's own kinds, weak against strong, so that their feedback has a right answer.
  const practiceRandom = new RandomStream(seed, STREAM.PRACTICE);
  for (let index = 0; index < definition.practice; index++) {
    const position = items.length;
    const entryIndex = weightedIndex(pool, all, practiceRandom);
    const entry = pool[entryIndex];
    if (definition.kind === 'TWO_AFC') {
      const weakFirst = practiceRandom.chance(0.5);
      const strongSteps = stepsOf(entry, practiceRandom, colour, STRONG);
      const weakSteps = strongSteps.map((step) => atSeverity(step, WEAK));
      const p0 = choice(position, 0, weakFirst ? weakSteps : strongSteps, entryIndex);
      const p1 = choice(position, 1, weakFirst ? strongSteps : weakSteps, entryIndex);
      push({ role: 'PRACTICE', category: entry.category, p0, p1, identical: false, expected: weakFirst ? 'P0' : 'P1' }, nextImage(), 0);
    } else {
      const identical = index % 2 === 0;
      const p1 = identical ? null : choice(position, 1, stepsOf(entry, practiceRandom, colour, STRONG), entryIndex);
      push({ role: 'PRACTICE', category: entry.category, p0: null, p1, identical, expected: identical ? 'SAME' : 'DIFFERENT' }, nextImage(), 0);
    }
  }
  return items;
}
