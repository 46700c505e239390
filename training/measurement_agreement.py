#!/usr/bin/env python3
"""How well do two measurements of the same schedules agree? The ceiling of any ranking metric.

Collect the same seeds twice into two dataset files (same options, e.g.
  harl-collect --db a.db --first-seed 30000 --pipelines 8 --shard 0/2
  harl-collect --db b.db --first-seed 30000 --pipelines 8 --shard 0/2 ),
then run  measurement_agreement.py a.db b.db . For every pipeline, it orders the schedules
measured in both files by one file's runtimes and by the other's, and prints the fraction of
pairs ordered the same way (all pairs, and those more than 5% apart in the second file), the
mean within-pipeline Kendall tau, and how often the first file's fastest schedule runs within
10% of the fastest by the second file's runtimes: what a perfect cost model would score against
labels measured like this (harl-train reports the same metrics). Only candidates whose searches
produced the same schedule in both files (same source hash) are compared.
"""
import collections
import itertools
import sqlite3
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    db = sqlite3.connect(sys.argv[1])
    db.execute("ATTACH DATABASE ? AS other", (sys.argv[2],))
    rows = db.execute("SELECT a.pipeline, a.runtime_s, b.runtime_s FROM samples a JOIN other.samples b "
                      "USING (pipeline, candidate) JOIN schedules sa ON sa.pipeline = a.pipeline AND "
                      "sa.candidate = a.candidate JOIN other.schedules sb ON sb.pipeline = b.pipeline AND "
                      "sb.candidate = b.candidate WHERE a.status = 'ok' AND b.status = 'ok' AND "
                      "sa.source_hash = sb.source_hash").fetchall()
    by_pipeline = collections.defaultdict(list)
    for pipeline, x, y in rows:
        by_pipeline[pipeline].append((x, y))
    agree = pairs = wide_agree = wide_pairs = 0
    taus = []
    top1 = []
    ratios = []
    for runs in by_pipeline.values():
        ratios += [x / y for x, y in runs]
        if len(runs) < 2:
            continue
        concordant = discordant = 0
        for (x1, y1), (x2, y2) in itertools.combinations(runs, 2):
            s = (x1 - x2) * (y1 - y2)
            concordant += s > 0
            discordant += s < 0
            if max(y1, y2) > 1.05 * min(y1, y2):
                wide_pairs += 1
                wide_agree += s > 0
        best_a = min(runs)  # the first file's fastest, with its runtime in the second file
        top1.append(best_a[1] <= 1.1 * min(y for _, y in runs))
        n = len(runs) * (len(runs) - 1) // 2
        agree += concordant
        pairs += n
        taus.append((concordant - discordant) / n)
    if not taus:
        sys.exit("no pipeline has two schedules measured in both files")
    ratios.sort()
    within10 = sum(0.9 <= r <= 1.0 / 0.9 for r in ratios) / len(ratios)
    print(f"{len(taus)} pipelines, {len(ratios)} schedules measured twice: pairwise agreement "
          f"{agree / pairs:.3f} ({wide_agree / max(1, wide_pairs):.3f} of the {wide_pairs} pairs >5% apart), "
          f"mean kendall tau {sum(taus) / len(taus):.3f}, fastest within 10% of the other's fastest "
          f"{sum(top1) / len(top1):.3f}, {100 * within10:.0f}% of runtimes within 10% of each other")


if __name__ == "__main__":
    main()
