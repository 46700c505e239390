#!/usr/bin/env python3
"""How well do two measurements of the same schedules agree? The ceiling of any ranking metric.

Collect the same seeds twice into two dataset files (same options, e.g.
  harl-collect --db a.db --first-seed 30000 --pipelines 8 --shard 0/2
  harl-collect --db b.db --first-seed 30000 --pipelines 8 --shard 0/2 ),
then run  measurement_agreement.py a.db b.db . For every pipeline, it orders the schedules
measured in both files by one file's runtimes and by the other's, and prints the fraction of
pairs ordered the same way and the mean within-pipeline Kendall tau: what a perfect cost model
would score against labels measured like this (harl-train reports the same two metrics).
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
                      "USING (pipeline, candidate) WHERE a.status = 'ok' AND b.status = 'ok'").fetchall()
    by_pipeline = collections.defaultdict(list)
    for pipeline, x, y in rows:
        by_pipeline[pipeline].append((x, y))
    agree = pairs = 0
    taus = []
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
        n = len(runs) * (len(runs) - 1) // 2
        agree += concordant
        pairs += n
        taus.append((concordant - discordant) / n)
    if not taus:
        sys.exit("no pipeline has two schedules measured in both files")
    ratios.sort()
    within10 = sum(0.9 <= r <= 1.0 / 0.9 for r in ratios) / len(ratios)
    print(f"{len(taus)} pipelines, {len(ratios)} schedules measured twice: pairwise agreement "
          f"{agree / pairs:.3f}, mean kendall tau {sum(taus) / len(taus):.3f}, "
          f"{100 * within10:.0f}% of runtimes within 10% of each other")


if __name__ == "__main__":
    main()
