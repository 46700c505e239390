#!/usr/bin/env python3
"""Cleaner labels for judging a cost model: each schedule's median runtime over several timings.

  median_labels.py --out MEDIAN.db [--machine median] FIRST.db [MORE.db ...]

Every (file, machine) pair among the inputs is one set of labels: the collection itself and
each `harl-collect --remeasure` of it (the same pipelines and candidate numbers). OUT gets the
pipelines and schedules of FIRST.db and one sample per schedule that every label set timed
successfully: the first label set's row (features, target, machine parameters) with its runtime
replaced by the median of all of them (with an even count, the geometric mean of the middle
two), recorded as --machine. Then `harl-train --db MEDIAN.db --evaluate=W` ranks against labels
that one noisy run moves less (training/README.md, "The held-out pipelines timed again").
Schedules some label set lacks or did not time successfully are left out and counted.
"""
import argparse
import math
import os
import sqlite3
import sys
import urllib.parse


def read_only(path):
    return sqlite3.connect(f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro", uri=True)


def label_sets(paths):
    """[(path, machine, {(pipeline, candidate): runtime_s or None})], one per (file, machine)."""
    sets = []
    for path in paths:
        if not os.path.isfile(path):
            sys.exit(f"median_labels.py: {path}: no such file")
        db = read_only(path)
        try:
            machines = [m for (m,) in db.execute("SELECT DISTINCT machine FROM samples ORDER BY machine")]
        except sqlite3.DatabaseError as e:
            sys.exit(f"median_labels.py: {path}: not a harl-collect dataset ({e})")
        for m in machines:
            rows = db.execute("SELECT pipeline, candidate, status, runtime_s FROM samples WHERE machine = ?", (m,))
            sets.append((path, m, {(p, c): (r if s == "ok" and r and r > 0 else None) for p, c, s, r in rows}))
    return sets


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else math.sqrt(v[n // 2 - 1] * v[n // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="dataset to write (must not exist)")
    ap.add_argument("--machine", default="median", help="machine name of the median samples")
    ap.add_argument("inputs", nargs="+", help="datasets: the collection first, then its remeasures")
    a = ap.parse_args()
    if os.path.exists(a.out):
        sys.exit(f"median_labels.py: {a.out} exists: give a new file")
    sets = label_sets(a.inputs)
    if len(sets) < 2:
        sys.exit("median_labels.py: the inputs hold one set of labels: give the collection and its remeasures")
    _, first_machine, first = sets[0]
    kept, missing = {}, 0
    for key in first:
        values = [s.get(key) for _, _, s in sets]
        if any(v is None for v in values):
            missing += 1
            continue
        kept[key] = median(values)
    out = sqlite3.connect(a.out)
    out.execute("ATTACH DATABASE ? AS src", (a.inputs[0],))
    for (sql,) in out.execute("SELECT sql FROM src.sqlite_master WHERE type = 'table'").fetchall():
        out.execute(sql)
    out.execute("INSERT INTO pipelines SELECT * FROM src.pipelines")
    out.execute("INSERT INTO schedules SELECT * FROM src.schedules")
    out.commit()
    cols = [r[1] for r in out.execute("PRAGMA table_info(samples)")]
    rows = out.execute("SELECT * FROM src.samples WHERE machine = ?", (first_machine,)).fetchall()
    ip, ic, im, ir = (cols.index(c) for c in ("pipeline", "candidate", "machine", "runtime_s"))
    for row in rows:
        key = (row[ip], row[ic])
        if key not in kept:
            continue
        row = list(row)
        row[im], row[ir] = a.machine, kept[key]
        out.execute(f"INSERT INTO samples VALUES ({','.join('?' * len(row))})", row)
    out.commit()
    out.execute("DETACH DATABASE src")
    print(f"median_labels.py: {len(kept)} schedules with the median of {len(sets)} label sets in {a.out} "
          f"(machine {a.machine}); left out {missing} that some set lacks or did not time successfully")
    for path, machine, _ in sets:
        print(f"  labels: {path}, machine {machine}")


if __name__ == "__main__":
    main()
