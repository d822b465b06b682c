/** Which rater judges which item, and in what order. */
import { assignItems, buildSequence, reassignWithdrawn, rebalanceForNewRater, type SequenceEntry, type SequenceInput } from '../../src/studies/assignment';

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
const held = (entries: Record<string, string[]>) => new Map(Object.entries(entries).map(([rater, items]) => [rater, new Set(items)]));

describe('assignItems', () => {
  it.each([
    [10, 3, 1],
    [10, 3, 2],
    [7, 5, 3],
    [3, 8, 2],
    [1, 4, 1],
    [20, 4, 4],
    [25, 6, 3],
    [0, 3, 1],
  ])('%i items, %i raters, %i per item: distinct raters, exact counts, balanced', (itemCount, raterCount, perItem) => {
    const items = ids('item', itemCount);
    const raters = ids('rater', raterCount);
    for (let seed = 0; seed < 5; seed++) {
      const assigned = assignItems(items, raters, perItem, seed);
      expect([...assigned.keys()]).toEqual(raters);
      for (const list of assigned.values()) expect(new Set(list).size).toBe(list.length);
      for (const item of items) expect([...assigned.values()].filter((list) => list.includes(item)).length).toBe(perItem);
      const loads = [...assigned.values()].map((list) => list.length);
      expect(loads.reduce((a, b) => a + b, 0)).toBe(itemCount * perItem);
      expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
    }
  });

  it('is a function of the seed', () => {
    const items = ids('item', 12);
    const raters = ids('rater', 5);
    expect(assignItems(items, raters, 2, 9)).toEqual(assignItems(items, raters, 2, 9));
    const results = new Set([0, 1, 2, 3, 4].map((seed) => JSON.stringify([...assignItems(items, raters, 2, seed)])));
    expect(results.size).toBeGreaterThan(1);
  });

  it('refuses a bad perItem and duplicate ids', () => {
    const raters = ids('rater', 3);
    expect(() => assignItems(['a'], raters, 0, 1)).toThrow(RangeError);
    expect(() => assignItems(['a'], raters, 4, 1)).toThrow(RangeError);
    expect(() => assignItems(['a'], raters, 1.5, 1)).toThrow(RangeError);
    expect(() => assignItems(['a'], ['r1', 'r2', 'r1'], 1, 1)).toThrow(RangeError);
    expect(() => assignItems(['a', 'a'], raters, 1, 1)).toThrow(RangeError);
    expect(() => assignItems([], [], 1, 1)).toThrow(RangeError);
  });
});

describe('buildSequence', () => {
  const base: SequenceInput = {
    mainItemIds: ids('m', 40),
    sentinelItemIds: ids('s', 4),
    practiceItemIds: ids('p', 3),
    retestShare: 0.25,
    retestMinGap: 5,
    seed: 11,
    stream: 0,
  };
  const purposes = (sequence: SequenceEntry[], purpose: SequenceEntry['purpose']) => sequence.filter((entry) => entry.purpose === purpose);

  /** Retests point at a MAIN showing of their item, far enough back, the other way round. */
  function expectValidRetests(sequence: SequenceEntry[], minGap: number): void {
    const retested = new Set<string>();
    sequence.forEach((entry, index) => {
      if (entry.purpose !== 'RETEST') {
        expect(entry.retestOf).toBeUndefined();
        return;
      }
      const first = sequence[entry.retestOf!];
      expect(first).toMatchObject({ itemId: entry.itemId, purpose: 'MAIN' });
      expect(index - entry.retestOf!).toBeGreaterThanOrEqual(Math.max(1, minGap));
      expect(entry.swapped).toBe(!first.swapped);
      expect(retested.has(entry.itemId)).toBe(false);
      retested.add(entry.itemId);
    });
  }

  it.each([0, 1, 2, 3, 4, 5, 6, 7])('stream %i: practice first, every main item once, sentinels spread, valid retests', (stream) => {
    const sequence = buildSequence({ ...base, stream });
    const practiceCount = base.practiceItemIds.length;
    expect(
      sequence
        .slice(0, practiceCount)
        .map((entry) => entry.itemId)
        .sort(),
    ).toEqual(base.practiceItemIds);
    expect(purposes(sequence, 'PRACTICE')).toEqual(sequence.slice(0, practiceCount));
    expect(purposes(sequence, 'MAIN').map((entry) => entry.itemId).sort()).toEqual([...base.mainItemIds].sort());
    expect(purposes(sequence, 'SENTINEL').map((entry) => entry.itemId).sort()).toEqual(base.sentinelItemIds);
    expect(purposes(sequence, 'RETEST')).toHaveLength(Math.round(0.25 * 40));
    expect(sequence).toHaveLength(3 + 40 + 4 + 10);
    expectValidRetests(sequence, base.retestMinGap);

    // Main items shown before each sentinel: about (k + 1) * M / (S + 1), never two sentinels in a row.
    const afterPractice = sequence.slice(practiceCount);
    const mainBefore = afterPractice.flatMap((entry, index) =>
      entry.purpose === 'SENTINEL' ? [afterPractice.slice(0, index).filter((e) => e.purpose === 'MAIN').length] : [],
    );
    mainBefore.forEach((count, k) => expect(Math.abs(count - ((k + 1) * 40) / 5)).toBeLessThanOrEqual(1));
    expect(mainBefore[0]).toBeGreaterThanOrEqual(40 / 5 - 1);
    afterPractice.forEach((entry, index) => {
      if (entry.purpose === 'SENTINEL' && index > 0) expect(afterPractice[index - 1].purpose).not.toBe('SENTINEL');
    });
  });

  it('is a function of the seed and the stream', () => {
    expect(buildSequence(base)).toEqual(buildSequence({ ...base }));
    const orders = (change: (i: number) => Partial<SequenceInput>) =>
      new Set([0, 1, 2, 3, 4].map((i) => JSON.stringify(buildSequence({ ...base, ...change(i) }))));
    expect(orders((stream) => ({ stream })).size).toBe(5);
    expect(orders((seed) => ({ seed })).size).toBe(5);
    // The practice order is random too.
    const practiceOrder = (stream: number) =>
      buildSequence({ ...base, stream })
        .slice(0, 3)
        .map((entry) => entry.itemId)
        .join();
    expect(new Set([0, 1, 2, 3, 4, 5, 6, 7].map(practiceOrder)).size).toBeGreaterThan(1);
  });

  it('shows p1 on the left by a fair coin', () => {
    const sequence = buildSequence({ ...base, mainItemIds: ids('m', 2000), retestShare: 0 });
    const swapped = purposes(sequence, 'MAIN').filter((entry) => entry.swapped).length;
    expect(swapped).toBeGreaterThan(900);
    expect(swapped).toBeLessThan(1100);
  });

  it('retests only items that can keep the gap, all of them when fewer can than wanted', () => {
    // 10 main items, no sentinels, a gap of 8: only the first three shown can be retested, though 5 are wanted.
    const input = { ...base, mainItemIds: ids('m', 10), sentinelItemIds: [], practiceItemIds: [], retestShare: 0.5, retestMinGap: 8 };
    for (let stream = 0; stream < 5; stream++) {
      const sequence = buildSequence({ ...input, stream });
      const retests = purposes(sequence, 'RETEST');
      expect(retests).toHaveLength(3);
      expect(retests.map((entry) => entry.retestOf).sort()).toEqual([0, 1, 2]);
      expectValidRetests(sequence, 8);
    }
  });

  it('counts the gap after practice, and a gap of 0 still retests later', () => {
    for (let stream = 0; stream < 5; stream++) {
      const sequence = buildSequence({ ...base, retestMinGap: 0, stream });
      expect(purposes(sequence, 'RETEST')).toHaveLength(10);
      expectValidRetests(sequence, 0);
    }
    // A gap as long as the part after practice leaves nothing to retest.
    expect(purposes(buildSequence({ ...base, retestMinGap: 45 }), 'RETEST')).toHaveLength(0);
    expect(purposes(buildSequence({ ...base, retestMinGap: 44 }), 'RETEST')).toHaveLength(1);
  });

  it('has no retests at share 0, and copes with no main items', () => {
    expect(purposes(buildSequence({ ...base, retestShare: 0 }), 'RETEST')).toHaveLength(0);
    const sentinelsOnly = buildSequence({ ...base, mainItemIds: [] });
    expect(sentinelsOnly.map((entry) => entry.purpose)).toEqual(['PRACTICE', 'PRACTICE', 'PRACTICE', 'SENTINEL', 'SENTINEL', 'SENTINEL', 'SENTINEL']);
  });

  it('refuses a retest share out of [0, 0.5] and a negative gap', () => {
    for (const retestShare of [-0.1, 0.6, Number.NaN]) expect(() => buildSequence({ ...base, retestShare })).toThrow(RangeError);
    expect(() => buildSequence({ ...base, retestMinGap: -1 })).toThrow(RangeError);
    expect(() => buildSequence({ ...base, retestShare: 0.5, retestMinGap: 0 })).not.toThrow();
  });
});

describe('rebalanceForNewRater', () => {
  it('takes from the most loaded rater (ties: id order) its last open item until the loads are within 1', () => {
    const open = new Map([
      ['B', ids('b', 5)],
      ['A', ids('a', 5)],
      ['C', ids('c', 2)],
    ]);
    expect(rebalanceForNewRater(open, new Map(), 'N')).toEqual([
      { itemId: 'a5', from: 'A' },
      { itemId: 'b5', from: 'B' },
      { itemId: 'a4', from: 'A' },
    ]);
  });

  it('never moves an item the new rater holds or has held', () => {
    const open = new Map([
      ['A', ['a1', 'a2', 'a3', 'x']],
      ['B', ['b1', 'b2', 'b3', 'x']],
    ]);
    // x moves from A, so B's x cannot follow it.
    expect(rebalanceForNewRater(open, new Map(), 'N')).toEqual([
      { itemId: 'x', from: 'A' },
      { itemId: 'b3', from: 'B' },
    ]);
    // a5 was judged by N once: a4 moves instead.
    expect(rebalanceForNewRater(new Map([['A', ids('a', 5)]]), held({ N: ['a5'] }), 'N')).toEqual([
      { itemId: 'a4', from: 'A' },
      { itemId: 'a3', from: 'A' },
    ]);
  });

  it('passes over a rater none of whose open items can move', () => {
    const open = new Map([
      ['A', ids('x', 4)],
      ['B', ids('b', 3)],
    ]);
    expect(rebalanceForNewRater(open, held({ N: ids('x', 4) }), 'N')).toEqual([{ itemId: 'b3', from: 'B' }]);
  });

  it('counts the open items the new rater has already, and changes nothing passed in', () => {
    const open = new Map([
      ['A', ids('a', 6)],
      ['N', ['n1', 'n2']],
    ]);
    const holds = held({ N: ['n1', 'n2'] });
    const before = JSON.stringify([[...open], [...holds].map(([rater, items]) => [rater, [...items]])]);
    expect(rebalanceForNewRater(open, holds, 'N')).toEqual([
      { itemId: 'a6', from: 'A' },
      { itemId: 'a5', from: 'A' },
    ]);
    expect(JSON.stringify([[...open], [...holds].map(([rater, items]) => [rater, [...items]])])).toBe(before);
    expect(rebalanceForNewRater(new Map(), new Map(), 'N')).toEqual([]);
  });
});

describe('reassignWithdrawn', () => {
  it('gives each item to the least loaded active rater who does not hold it (ties: id order)', () => {
    const counts = new Map([
      ['C', 1],
      ['A', 3],
      ['B', 1],
    ]);
    const result = reassignWithdrawn(['i1', 'i2', 'i3', 'i4'], counts, held({ B: ['i2'] }));
    expect(result).toEqual({
      moves: [
        { itemId: 'i1', to: 'B' },
        { itemId: 'i2', to: 'C' },
        { itemId: 'i3', to: 'B' },
        { itemId: 'i4', to: 'C' },
      ],
      unplaced: [],
    });
    expect([...counts]).toEqual([
      ['C', 1],
      ['A', 3],
      ['B', 1],
    ]);
  });

  it('leaves unplaced an item every active rater holds', () => {
    const counts = new Map([
      ['A', 0],
      ['B', 0],
    ]);
    expect(reassignWithdrawn(['z', 'i1'], counts, held({ A: ['z'], B: ['z'] }))).toEqual({ moves: [{ itemId: 'i1', to: 'A' }], unplaced: ['z'] });
    expect(reassignWithdrawn(['i1', 'i2'], new Map(), new Map())).toEqual({ moves: [], unplaced: ['i1', 'i2'] });
  });
});
