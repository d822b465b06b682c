/**
 * Which rater judges which item, and in what order: pure functions over ids.
 *
 * Every random choice comes from RandomStream, so the same ids and seed give the same result. Where an order
 * is not random, rater ids are compared as plain strings (UTF-16 code units), never by locale.
 */
import { RandomStream } from '../synth/random';

export type SequencePurpose = 'PRACTICE' | 'MAIN' | 'SENTINEL' | 'RETEST';

export interface SequenceEntry {
  itemId: string;
  purpose: SequencePurpose;
  /** Whether p1 is shown on the left. */
  swapped: boolean;
  /** For a RETEST: the index in the sequence of the item's first showing. */
  retestOf?: number;
}

export interface SequenceInput {
  mainItemIds: string[];
  sentinelItemIds: string[];
  practiceItemIds: string[];
  /** The share of the main items shown a second time, in [0, 0.5]. */
  retestShare: number;
  /** The least distance, in entries after practice, from an item's first showing to its retest. */
  retestMinGap: number;
  seed: number;
  stream: number;
}

/**
 * Gives each item to `perItem` distinct raters (rater id -> item ids, every rater listed, each rater's items
 * in the order they were assigned). Items are taken in a seeded random order; each goes to the raters with the fewest items so far, ties
 * broken at random. The loads then differ by at most 1: they stay within {m, m + 1} after every item.
 */
export function assignItems(itemIds: string[], raterIds: string[], perItem: number, seed: number): Map<string, string[]> {
  if (!Number.isInteger(perItem) || perItem < 1 || perItem > raterIds.length) {
    throw new RangeError(`perItem must be an integer in [1, ${raterIds.length}] (the number of raters), got ${perItem}`);
  }
  checkDistinct(raterIds, 'rater');
  checkDistinct(itemIds, 'item');
  const random = new RandomStream(seed, 0);
  const assigned = new Map(raterIds.map((id) => [id, [] as string[]]));
  for (const itemId of shuffled(itemIds, random)) {
    // Shuffling before a stable sort by load breaks the ties at random.
    const raters = shuffled(raterIds, random).sort((a, b) => assigned.get(a)!.length - assigned.get(b)!.length);
    for (const raterId of raters.slice(0, perItem)) assigned.get(raterId)!.push(itemId);
  }
  return assigned;
}

/**
 * One rater's sequence: the practice items (in random order), then the main items in random order with the
 * sentinels mixed in evenly (sentinel k of S, in random order, after round((k + 1) * M / (S + 1)) main items),
 * with the retests among them.
 *
 * Retests: round(retestShare * M) main items, chosen at random among those that can keep the gap, are shown
 * again, the other side on the left, at a random place between the gap and the end: index of the retest -
 * index of the first showing >= max(retestMinGap, 1), counted in the part after practice (where inserting
 * the other retests only ever lengthens it). An item too close to the end to keep the gap is never chosen;
 * when fewer items can keep it than wanted, all that can are retested (fewer retests than wanted).
 *
 * Each presentation but a retest shows p1 on the left or not by a fair coin.
 */
export function buildSequence(input: SequenceInput): SequenceEntry[] {
  const { retestShare, retestMinGap } = input;
  if (!(retestShare >= 0 && retestShare <= 0.5)) throw new RangeError(`retestShare must be in [0, 0.5], got ${retestShare}`);
  if (!Number.isInteger(retestMinGap) || retestMinGap < 0) throw new RangeError(`retestMinGap must be an integer >= 0, got ${retestMinGap}`);
  const random = new RandomStream(input.seed, input.stream);
  const present = (itemId: string, purpose: SequencePurpose): SequenceEntry => ({ itemId, purpose, swapped: random.chance(0.5) });

  const practice = shuffled(input.practiceItemIds, random).map((id) => present(id, 'PRACTICE'));
  const main = shuffled(input.mainItemIds, random);
  const sentinels = shuffled(input.sentinelItemIds, random);

  // The part after practice, before retests: sentinel k goes after round((k + 1) * M / (S + 1)) main items.
  const core: SequenceEntry[] = [];
  let nextSentinel = 0;
  const sentinelsDueAfter = (mainShown: number) =>
    nextSentinel < sentinels.length && Math.round(((nextSentinel + 1) * main.length) / (sentinels.length + 1)) <= mainShown;
  for (let shown = 0; shown <= main.length; shown++) {
    while (sentinelsDueAfter(shown)) core.push(present(sentinels[nextSentinel++], 'SENTINEL'));
    if (shown < main.length) core.push(present(main[shown], 'MAIN'));
  }

  // A retest inserted before core entry `slot` (slot = core.length: at the end) is slot - i after entry i.
  const minDistance = Math.max(1, retestMinGap);
  const eligible = core.flatMap((entry, i) => (entry.purpose === 'MAIN' && core.length - i >= minDistance ? [i] : []));
  const wanted = Math.round(retestShare * main.length);
  const retestsBefore: number[][] = Array.from({ length: core.length + 1 }, () => []);
  for (const first of shuffled(eligible, random).slice(0, wanted)) {
    retestsBefore[random.int(first + minDistance, core.length)].push(first);
  }

  const sequence = [...practice];
  const indexOfCore: number[] = [];
  for (let slot = 0; slot <= core.length; slot++) {
    for (const first of retestsBefore[slot]) {
      const shown = core[first];
      sequence.push({ itemId: shown.itemId, purpose: 'RETEST', swapped: !shown.swapped, retestOf: indexOfCore[first] });
    }
    if (slot < core.length) {
      indexOfCore.push(sequence.length);
      sequence.push(core[slot]);
    }
  }
  return sequence;
}

/**
 * Open (not yet judged) assignments to move to a rater joining a running study, in order. Each move takes
 * from the rater with the most open items (ties: the smaller rater id) the last of its open items (the one it
 * would reach last) that the new rater does not hold; a rater none of whose open items can move is passed over
 * for the next. Moving stops when the most loaded rater has at most one open item more than the new one.
 *
 * heldByRater: every item each rater has or had, answered or not. Nothing passed in is changed.
 */
export function rebalanceForNewRater(
  openByRater: Map<string, string[]>,
  heldByRater: Map<string, Set<string>>,
  newRaterId: string,
): Array<{ itemId: string; from: string }> {
  const open = new Map([...openByRater].filter(([raterId]) => raterId !== newRaterId).map(([raterId, items]) => [raterId, [...items]]));
  const newHolds = new Set([...(heldByRater.get(newRaterId) ?? []), ...(openByRater.get(newRaterId) ?? [])]);
  let newLoad = openByRater.get(newRaterId)?.length ?? 0;
  const moves: Array<{ itemId: string; from: string }> = [];
  for (;;) {
    const donors = [...open.keys()]
      .filter((raterId) => open.get(raterId)!.length - newLoad > 1)
      .sort((a, b) => open.get(b)!.length - open.get(a)!.length || compareIds(a, b));
    const move = nextMove(donors, open, newHolds);
    if (!move) return moves;
    const [itemId] = open.get(move.from)!.splice(move.index, 1);
    newHolds.add(itemId);
    newLoad++;
    moves.push({ itemId, from: move.from });
  }
}

/** The first donor's last open item that the new rater does not hold. */
function nextMove(donors: string[], open: Map<string, string[]>, newHolds: Set<string>): { from: string; index: number } | null {
  for (const from of donors) {
    const items = open.get(from)!;
    for (let index = items.length - 1; index >= 0; index--) if (!newHolds.has(items[index])) return { from, index };
  }
  return null;
}

/**
 * A withdrawn rater's open items, each (in the order given) to the active rater with the fewest open items
 * who does not hold it (ties: the smaller rater id), counting each move before the next. Items no active rater
 * can take are unplaced: they will be short of judgments, which the caller reports.
 *
 * activeOpenCount: the open items of each active rater (the withdrawn one not among them). Nothing passed in
 * is changed.
 */
export function reassignWithdrawn(
  openItems: string[],
  activeOpenCount: Map<string, number>,
  heldByRater: Map<string, Set<string>>,
): { moves: Array<{ itemId: string; to: string }>; unplaced: string[] } {
  const counts = new Map(activeOpenCount);
  const received = new Map<string, Set<string>>();
  const holds = (raterId: string, itemId: string) => heldByRater.get(raterId)?.has(itemId) || received.get(raterId)?.has(itemId);
  const moves: Array<{ itemId: string; to: string }> = [];
  const unplaced: string[] = [];
  for (const itemId of openItems) {
    let to: string | null = null;
    for (const [raterId, count] of counts) {
      if (holds(raterId, itemId)) continue;
      if (to === null || count < counts.get(to)! || (count === counts.get(to)! && compareIds(raterId, to) < 0)) to = raterId;
    }
    if (to === null) {
      unplaced.push(itemId);
      continue;
    }
    counts.set(to, counts.get(to)! + 1);
    received.set(to, (received.get(to) ?? new Set()).add(itemId));
    moves.push({ itemId, to });
  }
  return { moves, unplaced };
}

/** A Fisher-Yates shuffle into a new array. */
function shuffled<T>(items: readonly T[], random: RandomStream): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkDistinct(ids: string[], what: string): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new RangeError(`${what} id ${id} is listed twice`);
    seen.add(id);
  }
}
