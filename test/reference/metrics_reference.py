#!/usr/bin/env python3
"""Reference values for the GLUE metrics in src/engine/metrics, from scikit-learn and SciPy.

Owns: test/fixtures/metrics/metrics_fixtures.json, the seeded cases that test/engine/metrics/metrics.test.ts
compares the TypeScript metrics against. Must not: compute any metric itself beyond what a test needs to be
independent of the TypeScript code (the only arithmetic here is the mean of a metric pair for a task's main
score, and argmax of logits with numpy's first-maximum rule).

Run with Debian's python (python3-sklearn, python3-scipy; the pyenv `python3` on PATH lacks them):
    /usr/bin/python3 test/reference/metrics_reference.py
Generated with Python 3.11.2, numpy 1.24.2, SciPy 1.10.1, scikit-learn 1.2.1; the versions that ran are
recorded under "versions" in the JSON. The output is deterministic for given versions (fixed seed).

Where the reference is undefined the JSON holds null and says why in "reference_note":
  * scipy returns nan for a constant input to pearsonr / spearmanr (ConstantInputWarning), and pearsonr
    raises for fewer than 2 samples. The TypeScript metrics define these as 0 (see src/engine/metrics/stats.ts),
    so the tests expect 0 exactly there.
  * sklearn's f1_score and matthews_corrcoef return 0.0 (f1 with an UndefinedMetricWarning) when a
    denominator is 0; those are recorded as the 0.0 sklearn returns.
Floats are written with Python's repr, which JSON.parse reads back to the same float64, so both sides compute
on identical inputs.
"""
import json
import os
import platform
import warnings

import numpy as np
import scipy
import scipy.stats
import sklearn
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'metrics', 'metrics_fixtures.json')
SEED = 20240611
rng = np.random.default_rng(SEED)


def num(v):
    """float64 → JSON number, nan → None (JSON has no NaN)."""
    v = float(v)
    return None if np.isnan(v) else v


def ints(a):
    return [int(v) for v in a]


def floats(a):
    return [float(v) for v in a]


# ---------------------------------------------------------------- classification (accuracy, f1, mcc)
def classification_case(cid, pred, gold, note=''):
    pred = np.asarray(pred, dtype=np.int64)
    gold = np.asarray(gold, dtype=np.int64)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        labels = set(ints(pred)) | set(ints(gold))
        exp = {
            'accuracy': num(accuracy_score(gold, pred)),
            'matthews': num(matthews_corrcoef(gold, pred)),
        }
        if labels <= {0, 1}:
            # average='binary', pos_label=1: the GLUE definition (MRPC, QQP).
            exp['f1'] = num(f1_score(gold, pred, pos_label=1, average='binary'))
        else:
            # Our f1 is one-vs-rest for the positive label; sklearn's equivalent is labels=[1], average=None.
            exp['f1'] = num(f1_score(gold, pred, labels=[1], average=None)[0])
    return {'id': cid, 'pred': ints(pred), 'gold': ints(gold), 'expected': exp,
            'warnings': sorted({type(x.message).__name__ for x in w}), 'note': note}


def flip(gold, q, classes=2):
    """gold with a fraction q of entries replaced by a uniformly random other class."""
    pred = gold.copy()
    m = rng.random(len(gold)) < q
    pred[m] = (gold[m] + rng.integers(1, classes, m.sum())) % classes
    return pred


def classification_cases():
    cases = []
    for n in [1, 2, 3, 5, 10, 37, 100, 1000, 5000]:
        for rate in [0.5, 0.03, 0.97]:
            for q in ([0.15, 0.45] if n <= 1000 else [0.15]):
                gold = (rng.random(n) < rate).astype(np.int64)
                cases.append(classification_case(f'binary-n{n}-pos{rate}-noise{q}', flip(gold, q), gold,
                                                 'binary, positive rate of gold as named (imbalance)'))
    for n in [1, 10, 1000]:
        gold = (rng.random(n) < 0.3).astype(np.int64)
        for c in [0, 1]:
            const = np.full(n, c, dtype=np.int64)
            cases.append(classification_case(f'pred-all-{c}-n{n}', const, gold,
                                             'all-one-class predictions: MCC denominator 0'))
            cases.append(classification_case(f'gold-all-{c}-n{n}', gold, const, 'all-one-class gold'))
        cases.append(classification_case(f'both-const-n{n}', np.zeros(n), np.ones(n), 'both constant, disagreeing'))
        cases.append(classification_case(f'both-const-equal-n{n}', np.ones(n), np.ones(n), 'both constant, equal'))
    gold = (rng.random(200) < 0.4).astype(np.int64)
    cases.append(classification_case('perfect-n200', gold, gold, 'pred == gold: MCC 1'))
    cases.append(classification_case('inverted-n200', 1 - gold, gold, 'pred == 1 - gold: MCC -1'))
    pred = (rng.random(50) < 0.5).astype(np.int64)
    cases.append(classification_case('f1-no-gold-positives', pred, np.zeros(50), 'F1: gold has no positives'))
    cases.append(classification_case('f1-no-pred-positives', np.zeros(50), pred, 'F1: pred has no positives'))
    cases.append(classification_case('f1-no-positives-at-all', np.zeros(50), np.zeros(50),
                                     'F1: neither has positives (precision+recall = 0 → 0)'))
    cases.append(classification_case('f1-no-true-positives', pred, 1 - pred, 'F1: positives but none shared'))
    # Multiclass: MNLI-like 3 classes and more; sklearn's multiclass MCC (Gorodkin's R_K).
    for k in [3, 5, 10]:
        for n in [2, 10, 100, 1000, 5000]:
            gold = rng.integers(0, k, n)
            cases.append(classification_case(f'multiclass-k{k}-n{n}', flip(gold, 0.35, k), gold, f'{k} classes'))
    gold = rng.integers(0, 3, 300)
    pred = np.where(gold == 2, 1, gold)  # a class never predicted
    cases.append(classification_case('multiclass-missing-pred-class', pred, gold, 'class 2 never predicted'))
    skew = rng.choice(3, 1000, p=[0.9, 0.08, 0.02])
    cases.append(classification_case('multiclass-imbalanced', flip(skew, 0.2, 3), skew, 'heavily imbalanced 3-class'))
    cases.append(classification_case('multiclass-pred-const', np.full(300, 2), gold, 'constant multiclass pred: MCC 0'))
    labels = np.array([-1, 3, 7])
    g = labels[rng.integers(0, 3, 500)]
    p = np.where(rng.random(500) < 0.3, labels[rng.integers(0, 3, 500)], g)
    cases.append(classification_case('multiclass-noncontiguous-labels', p, g, 'labels {-1, 3, 7}'))
    return cases


# ---------------------------------------------------------------- correlation (pearson, spearman, ranks)
def correlation_case(cid, x, y, note=''):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    notes = [note] if note else []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        try:
            p = num(scipy.stats.pearsonr(x, y).statistic)
        except ValueError as e:
            p = None
            notes.append(f'pearsonr raised: {e}')
        s = num(scipy.stats.spearmanr(x, y).statistic)
    if p is None or s is None:
        notes.append('scipy returned nan / raised: the TypeScript metric defines this as 0')
    return {'id': cid, 'x': floats(x), 'y': floats(y),
            'expected': {'pearson': p, 'spearman': s},
            'warnings': sorted({type(m.message).__name__ for m in w}),
            'note': '; '.join(notes)}


def stsb_labels(n):
    # STS-B gold: 0-5 in steps of 0.2, so many exact ties. round(·, 1) gives the shortest float for k*0.2.
    return np.round(rng.integers(0, 26, n) * 0.2, 1)


def correlation_cases():
    cases = []
    for n in [2, 3, 10, 100, 1500, 5000]:
        gold = stsb_labels(n)
        pred = np.round(gold + rng.normal(0, 1.0, n), 4)
        cases.append(correlation_case(f'stsb-float-pred-n{n}', pred, gold, 'STS-B-like gold (ties), float pred'))
        if n <= 1500:
            pred_r = np.round(np.clip(np.round((gold + rng.normal(0, 1.2, n)) / 0.2) * 0.2, 0, 5), 1)
            cases.append(correlation_case(f'stsb-tied-pred-n{n}', pred_r, gold, 'both rounded to 0.2: ties in both'))
    for n in [1, 2, 10]:
        v = np.round(rng.normal(0, 1, n), 4)
        cases.append(correlation_case(f'const-x-n{n}', np.full(n, 2.4), v, 'constant x'))
        cases.append(correlation_case(f'const-y-n{n}', v, np.full(n, 3.0), 'constant y'))
        cases.append(correlation_case(f'const-both-n{n}', np.full(n, 1.0), np.full(n, 1.0), 'both constant'))
    x = np.round(rng.normal(0, 1, 2), 4)
    cases.append(correlation_case('n2-negative', x, -x, 'two points, opposite'))
    x = np.round(rng.normal(0, 1, 400), 4)
    cases.append(correlation_case('monotone-cubic', x, x ** 3, 'monotone nonlinear: spearman 1'))
    cases.append(correlation_case('negative-linear', x, np.round(-2 * x + rng.normal(0, 0.5, 400), 4), 'negative'))
    cases.append(correlation_case('independent', x, np.round(rng.normal(0, 1, 400), 4), 'near-zero correlation'))
    big = np.round(1e6 + rng.normal(0, 1, 1000), 6)
    cases.append(correlation_case('large-offset', big, np.round(big + rng.normal(0, 0.5, 1000), 6),
                                  'values near 1e6: needs centered (two-pass) sums'))
    z = rng.integers(0, 4, 2000).astype(np.float64)
    cases.append(correlation_case('small-int-heavy-ties', z, np.clip(z + rng.integers(-1, 2, 2000), 0, 3),
                                  'values in 0..3: heavy ties'))
    x = np.round(rng.normal(0, 1, 300), 4)
    cases.append(correlation_case('near-perfect', x, np.round(x + rng.normal(0, 1e-3, 300), 6), 'r close to 1'))
    return cases


def rank_cases():
    cases = []
    for cid, x in [('no-ties', np.round(rng.normal(0, 1, 12), 4)),
                   ('ties', [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]),
                   ('all-equal', [2.0] * 5),
                   ('single', [7.5]),
                   ('negative-zero', [0.0, -0.0, -1.0, 1.0]),
                   ('stsb-ties', stsb_labels(60))]:
        x = np.asarray(x, dtype=np.float64)
        cases.append({'id': cid, 'x': floats(x), 'expected': floats(scipy.stats.rankdata(x, method='average'))})
    return cases


# ---------------------------------------------------------------- task level (what taskMetrics reports)
TASKS = {  # task: (classes or None for regression, sklearn/scipy metrics, metrics averaged into main)
    'cola': (2, ['matthews_correlation'], ['matthews_correlation']),
    'sst2': (2, ['accuracy'], ['accuracy']),
    'mrpc': (2, ['f1', 'accuracy'], ['f1', 'accuracy']),
    'stsb': (None, ['pearson', 'spearman'], ['pearson', 'spearman']),
    'qqp': (2, ['f1', 'accuracy'], ['f1', 'accuracy']),
    'mnli': (3, ['accuracy'], ['accuracy']),
    'mnli-mm': (3, ['accuracy'], ['accuracy']),
    'qnli': (2, ['accuracy'], ['accuracy']),
    'rte': (2, ['accuracy'], ['accuracy']),
    'wnli': (2, ['accuracy'], ['accuracy']),
}


def task_metric(name, pred, gold):
    if name == 'accuracy':
        return accuracy_score(gold, pred)
    if name == 'f1':
        return f1_score(gold, pred, pos_label=1, average='binary')
    if name == 'matthews_correlation':
        return matthews_corrcoef(gold, pred)
    if name == 'pearson':
        return scipy.stats.pearsonr(pred, gold).statistic
    return scipy.stats.spearmanr(pred, gold).statistic


def task_cases():
    cases = []
    for task, (k, names, main) in TASKS.items():
        n = 240
        with_logits = k is not None and task in ('sst2', 'mnli', 'mnli-mm', 'rte')
        if k is None:
            gold = stsb_labels(n)
            pred = np.round(gold + rng.normal(0, 0.9, n), 4)
            inputs = {'predictions': floats(pred)}
        elif with_logits:
            gold = rng.integers(0, k, n)
            # Logits rounded to 1 decimal so that some rows tie: argmax takes the first maximum (numpy's rule).
            logits = np.round(rng.normal(0, 1, (n, k)) + 1.5 * np.eye(k)[gold], 1)
            pred = logits.argmax(axis=1)
            inputs = {'logits': [floats(r) for r in logits]}
        else:
            gold = rng.integers(0, k, n)
            pred = flip(gold, 0.25, k)
            inputs = {'predictions': ints(pred)}
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            metrics = {m: num(task_metric(m, pred, gold)) for m in names}
        cases.append({'task': task, **inputs, 'gold': floats(gold) if k is None else ints(gold),
                      'expected': {'metrics': metrics, 'main': float(np.mean([metrics[m] for m in main]))}})
    return cases


def main():
    data = {
        'generator': 'test/reference/metrics_reference.py',
        'seed': SEED,
        'versions': {'python': platform.python_version(), 'numpy': np.__version__, 'scipy': scipy.__version__,
                     'sklearn': sklearn.__version__},
        'classification': classification_cases(),
        'correlation': correlation_cases(),
        'ranks': rank_cases(),
        'tasks': task_cases(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(data, f, allow_nan=False, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.relpath(OUT)}: {os.path.getsize(OUT)} bytes, '
          + ', '.join(f'{k}: {len(data[k])}' for k in ('classification', 'correlation', 'ranks', 'tasks')))


if __name__ == '__main__':
    main()
