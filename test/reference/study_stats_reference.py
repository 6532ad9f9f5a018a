#!/usr/bin/env python3
"""scipy reference for src/engine/study/stats.ts: paired t-tests (scipy.stats.ttest_rel) and Student-t
two-sided p-values on fixed cases. Writes test/fixtures/study/ttest.json.

    /usr/bin/python3 test/reference/study_stats_reference.py
"""
import json
import os

import numpy as np
from scipy import stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'study', 'ttest.json')
rng = np.random.default_rng(7)
cases = [
    {'a': [0.81, 0.83, 0.80], 'b': [0.79, 0.80, 0.80]},
    {'a': [0.5, 0.6, 0.7, 0.65], 'b': [0.55, 0.58, 0.71, 0.6]},
    {'a': [0.1, 0.2], 'b': [0.3, 0.1]},
    {'a': [10.0, 12.0, 9.0, 11.0, 10.5], 'b': [9.0, 11.5, 9.2, 10.0, 9.9]},
]
for n in (3, 5, 10, 30):
    a = rng.normal(0.8, 0.02, n)
    cases.append({'a': a.tolist(), 'b': (a - rng.normal(0.005, 0.01, n)).tolist()})
out = []
for c in cases:
    r = stats.ttest_rel(c['a'], c['b'])
    d = np.array(c['a']) - np.array(c['b'])
    out.append({**c, 't': float(r.statistic), 'p': float(r.pvalue), 'meanDiff': float(d.mean()), 'stdDiff': float(d.std(ddof=1))})
tp = [{'t': t, 'df': df, 'p': float(2 * stats.t.sf(abs(t), df))} for t in (0.1, 1.0, 2.0, 4.3, 12.7, 40.0) for df in (1, 2, 4, 9, 29)]
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({'ttest_rel': out, 't_two_sided': tp}, f, indent=1)
print('wrote', OUT)
