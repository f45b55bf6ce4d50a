#!/usr/bin/env python3
"""Paired differences between two evaluation reports' rows that share evaluation seeds:
mean [95 % t-interval] over seeds of (row A in report A) − (row B in report B), per protocol/fraction."""
import csv, math, sys
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228, 11: 2.201}
def load(path, row):
    out = {}
    for r in csv.DictReader(open(path)):
        if r['set'] == row:
            out[(r['protocol'], r['fraction'], r['seed'])] = float(r['value'])
    return out
a = load(sys.argv[1], sys.argv[2]); b = load(sys.argv[3], sys.argv[4])
keys = sorted(set(k[:2] for k in a) & set(k[:2] for k in b))
for proto, frac in keys:
    seeds = sorted(k[2] for k in a if k[:2] == (proto, frac) and (proto, frac, k[2]) in b)
    d = [a[(proto, frac, s)] - b[(proto, frac, s)] for s in seeds]
    scale = 1 if 'R²' in proto or 'MSE' in proto else 100
    d = [x * scale for x in d]
    n = len(d); m = sum(d) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in d) / (n - 1)) if n > 1 else float('nan')
    h = T975.get(n - 1, 2.0) * sd / math.sqrt(n)
    verdict = 'beats' if m - h > 0 else 'loses to' if m + h < 0 else 'ties'
    if 'MSE' in proto: verdict = {'beats': 'loses to (higher MSE)', 'loses to': 'beats (lower MSE)', 'ties': 'ties'}[verdict]
    print(f"| {proto} | {frac} | {m:+.3f} [{m - h:+.3f}, {m + h:+.3f}] | {', '.join(f'{x:+.2f}' for x in d)} | {verdict} |")
