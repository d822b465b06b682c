"""The peer of `npm run bench:agreement` (bench/agreement.ts spawns this once per round).

    /usr/bin/python3 bench/agreement_numpy.py FOLDER

FOLDER holds the synthetic study bench/agreement.ts wrote (little-endian raw arrays and meta.json):
{twoafc,jnd}_start.i32 (per item, its first judgment; count + 1), _rater.i32 and _answer.u8 (per judgment),
_category.i32 (per item), twoafc_distance0.f64 / twoafc_distance1.f64 (d0, d1: metric-major, metrics x
items) and jnd_distance0.f64. A straightforward vectorised numpy implementation of src/agreement's
statistics (the same definitions, the same bootstrap design, numpy's own generator): per scope (all items,
then each category), the 2AFC score of each metric, the pairwise and oracle ceilings, the JND average
precision (VOC 2010+, tied distances grouped), paired differences with bootstrap p-values, Holm. Resamples
are vectorised in chunks of CHUNK (matrices resamples x items). Prints one JSON object: numpy's version, the
seconds of the computation per design (time.perf_counter, file reading excluded), and the figures (value,
interval) per design, scope and figure.
"""
import json
import os
import sys
import time

import numpy as np

CHUNK = 50


def load(folder, prefix, metrics, items, distance_files):
    read = lambda name, dtype: np.fromfile(os.path.join(folder, f'{prefix}_{name}'), dtype=dtype)
    start = read('start.i32', '<i4').astype(np.int64)
    distances = [read(f'distance{k}.f64', '<f8').reshape(metrics, items) for k in range(distance_files)]
    return start, read('rater.i32', '<i4'), read('answer.u8', 'u1'), read('category.i32', '<i4'), distances


def scope_judgments(start, items):
    """The scope's items with judgments, and their judgments' indices grouped by item, with group offsets."""
    counts = start[items + 1] - start[items]
    items = items[counts > 0]
    counts = counts[counts > 0]
    offsets = np.concatenate(([0], np.cumsum(counts)))
    index = np.repeat(start[items] - offsets[:-1], counts) + np.arange(offsets[-1])
    return items, index, offsets[:-1], counts


def counts_matrix(draws, size):
    """Per row of draws (resamples x draws), how often each of 0 .. size - 1 was drawn."""
    rows = draws.shape[0]
    flat = (draws + np.arange(rows)[:, None] * size).ravel()
    return np.bincount(flat, minlength=rows * size).reshape(rows, size).astype(np.float64)


def interval(draws, confidence):
    """Percentile intervals (numpy's linear quantiles) of each column, NaN rows left out."""
    low, high = np.nanquantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2], axis=0)
    return low, high


def holm(p):
    order = np.argsort(p, kind='stable')
    m = len(p)
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p[order]))
    return adjusted


def compare(values, draws, confidence):
    """Paired differences of every pair (i < j): intervals, bootstrap p-values, Holm-adjusted."""
    m = len(values)
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
    result = []
    p = []
    for i, j in pairs:
        observed = values[i] - values[j]
        resampled = draws[:, i] - draws[:, j]
        defined = ~np.isnan(resampled)
        extreme = np.count_nonzero(np.abs(resampled[defined] - observed) >= abs(observed))
        p.append((1 + extreme) / (np.count_nonzero(defined) + 1))
        low, high = interval(resampled, confidence)
        result.append([observed, low, high])
    adjusted = holm(np.array(p)) if p else np.array([])
    return result, p, adjusted


def two_afc_scope(data, items, raters, resamples, confidence, two_way, rng):
    start, rater, answer, _, (d0, d1) = data
    items, index, offsets, n = scope_judgments(start, items)
    size = len(items)
    answers = answer[index].astype(np.float64)
    k = np.add.reduceat(answers, offsets)
    n = n.astype(np.float64)
    h = k / n
    d0, d1 = d0[:, items], d1[:, items]
    base = np.where(d0 < d1, 1.0, np.where(d1 < d0, 0.0, 0.5))
    slope = np.where(d0 < d1, -1.0, np.where(d1 < d0, 1.0, 0.0))
    credit = base + slope * h
    scores = credit.mean(axis=1)
    eligible = n >= 2
    pairwise_terms = np.where(eligible, (k * (k - 1) + (n - k) * (n - k - 1)) / np.maximum(n * (n - 1), 1), 0.0)
    pairwise = pairwise_terms[eligible].mean()
    oracle_terms = np.maximum(h, 1 - h)
    oracle = oracle_terms.mean()

    draws = np.empty((resamples, len(scores)))
    pairwise_draws = np.empty(resamples)
    oracle_draws = np.empty(resamples)
    judgment_rater = rater[index]
    for first in range(0, resamples, CHUNK):
        rows = min(CHUNK, resamples - first)
        counts = counts_matrix(rng.integers(0, size, size=(rows, size)), size)
        block = slice(first, first + rows)
        if not two_way:
            draws[block] = counts @ credit.T / size
            pairwise_draws[block] = (counts @ pairwise_terms) / (counts @ eligible.astype(np.float64))
            oracle_draws[block] = counts @ oracle_terms / size
            continue
        weights = counts_matrix(rng.integers(0, raters, size=(rows, raters)), raters)[:, judgment_rater]
        squares = weights * weights
        weighted_n = np.add.reduceat(weights, offsets, axis=1)
        weighted_k = np.add.reduceat(weights * answers, offsets, axis=1)
        squares_one = np.add.reduceat(squares * answers, offsets, axis=1)
        squares_zero = np.add.reduceat(squares, offsets, axis=1) - squares_one
        kept = weighted_n > 0
        share = np.divide(weighted_k, weighted_n, out=np.zeros_like(weighted_k), where=kept)
        item_weight = counts * kept
        total = item_weight.sum(axis=1)
        draws[block] = (item_weight @ base.T + (item_weight * share) @ slope.T) / total[:, None]
        oracle_draws[block] = (item_weight * np.maximum(share, 1 - share)).sum(axis=1) / total
        pairs = weighted_n * weighted_n - squares_one - squares_zero
        has_pairs = pairs > 0
        agree = weighted_k * weighted_k - squares_one + (weighted_n - weighted_k) ** 2 - squares_zero
        terms = np.divide(agree, pairs, out=np.zeros_like(agree), where=has_pairs)
        with np.errstate(invalid='ignore', divide='ignore'):
            pairwise_draws[block] = (counts * terms).sum(axis=1) / (counts * has_pairs).sum(axis=1)

    figures = {}
    low, high = interval(draws, confidence)
    for m in range(len(scores)):
        figures[m] = [scores[m], low[m], high[m]]
    comparisons = compare(scores, draws, confidence)
    pw_low, pw_high = interval(pairwise_draws, confidence)
    or_low, or_high = interval(oracle_draws, confidence)
    return figures, [pairwise, pw_low, pw_high], [oracle, or_low, or_high], comparisons


def voc_ap(recall, precision):
    """VOC 2010+ AP of each row: sentinels, precision monotone from the right, the area of recall steps."""
    rows = recall.shape[0]
    mrec = np.concatenate([np.zeros((rows, 1)), recall, np.ones((rows, 1))], axis=1)
    mpre = np.concatenate([np.zeros((rows, 1)), precision, np.zeros((rows, 1))], axis=1)
    mpre = np.maximum.accumulate(mpre[:, ::-1], axis=1)[:, ::-1]
    return ((mrec[:, 1:] - mrec[:, :-1]) * mpre[:, 1:]).sum(axis=1)


def precision_recall(positive_weight, negative_weight, order, ends, positive):
    """Per row (item weights of one resample): recall and precision at each distinct distance."""
    true_positive = np.cumsum(positive_weight[:, order], axis=1)[:, ends]
    false_positive = np.cumsum(negative_weight[:, order], axis=1)[:, ends]
    called = true_positive + false_positive
    precision = np.divide(true_positive, called, out=np.zeros_like(called), where=called > 0)
    return true_positive / positive[:, None], precision


def jnd_scope(data, items, raters, resamples, confidence, two_way, rng):
    start, rater, answer, _, (distance,) = data
    items, index, offsets, n = scope_judgments(start, items)
    size = len(items)
    answers = answer[index].astype(np.float64)
    same = np.add.reduceat(answers, offsets) / n
    distance = distance[:, items]
    orders = []
    values = []
    for row in distance:
        order = np.argsort(row, kind='stable')
        ordered = row[order]
        ends = np.flatnonzero(np.concatenate([ordered[1:] != ordered[:-1], [True]]))
        orders.append((order, ends))
        recall, precision = precision_recall(same[None, :], 1 - same[None, :], order, ends, np.array([same.sum()]))
        values.append(voc_ap(recall, precision)[0] if same.sum() > 0 else np.nan)
    values = np.array(values)

    draws = np.empty((resamples, len(values)))
    judgment_rater = rater[index]
    for first in range(0, resamples, CHUNK):
        rows = min(CHUNK, resamples - first)
        counts = counts_matrix(rng.integers(0, size, size=(rows, size)), size)
        if two_way:
            weights = counts_matrix(rng.integers(0, raters, size=(rows, raters)), raters)[:, judgment_rater]
            weighted_n = np.add.reduceat(weights, offsets, axis=1)
            weighted_k = np.add.reduceat(weights * answers, offsets, axis=1)
            kept = weighted_n > 0
            share = np.divide(weighted_k, weighted_n, out=np.zeros_like(weighted_k), where=kept)
            counts = counts * kept
        else:
            share = np.broadcast_to(same, counts.shape)
        positive_weight = counts * share
        negative_weight = counts * (1 - share)
        positive = positive_weight.sum(axis=1)
        for m, (order, ends) in enumerate(orders):
            recall, precision = precision_recall(positive_weight, negative_weight, order, ends, positive)
            with np.errstate(invalid='ignore'):
                draws[first:first + rows, m] = np.where(positive > 0, voc_ap(recall, precision), np.nan)

    low, high = interval(draws, confidence)
    figures = {m: [values[m], low[m], high[m]] for m in range(len(values))}
    return figures, compare(values, draws, confidence)


def main():
    folder = sys.argv[1]
    meta = json.load(open(os.path.join(folder, 'meta.json')))
    items, names, raters = meta['items'], meta['metrics'], meta['panel']
    two_afc = load(folder, 'twoafc', len(names), items, 2)
    jnd = load(folder, 'jnd', len(names), items, 1)
    scopes = lambda category: [('all', np.arange(items))] + [(f'category {c}', np.flatnonzero(category == c)) for c in range(meta['categories'])]
    seconds = {}
    figures = {}
    for mode in meta['modes']:
        two_way = mode == 'two-way'
        rng = np.random.default_rng(meta['seed'])
        started = time.perf_counter()
        out = {}
        for scope, members in scopes(two_afc[3]):
            metric_figures, pairwise, oracle, _ = two_afc_scope(two_afc, members, raters, meta['resamples'], meta['confidence'], two_way, rng)
            entry = out.setdefault(scope, {})
            for m, name in enumerate(names):
                entry[f'2afc {name}'] = metric_figures[m]
            entry['2afc pairwise'] = pairwise
            entry['2afc oracle'] = oracle
        for scope, members in scopes(jnd[3]):
            metric_figures, _ = jnd_scope(jnd, members, raters, meta['resamples'], meta['confidence'], two_way, rng)
            entry = out.setdefault(scope, {})
            for m, name in enumerate(names):
                entry[f'jnd {name}'] = metric_figures[m]
        seconds[mode] = time.perf_counter() - started
        figures[mode] = {scope: {name: [float(x) for x in figure] for name, figure in entry.items()} for scope, entry in out.items()}
    json.dump({'numpy': np.__version__, 'seconds': seconds, 'figures': figures}, sys.stdout)


if __name__ == '__main__':
    main()
