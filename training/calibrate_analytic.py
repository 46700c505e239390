#!/usr/bin/env python3
"""Calibrates the CPU analytic model's constants (AnalyticConstants in cost_model/CostModel.h).

Usage: calibrate_analytic.py [--harl-train PATH] [--test-fraction F] [--start NAME=V,...]
                             [--steps 0.5,0.7,1.4,2] [--min-gain 0.0003] DATASET.db...

Coordinate descent on measured data: for each constant in turn, it evaluates the analytic model
with the constant times each step (`harl-train --evaluate --analytic-constants ... --predictions`)
and keeps the best value if the pairwise ranking accuracy over the pipelines outside the test
split rose by more than --min-gain; it repeats the round until one keeps nothing. The test split
is harl-train's (the same hash of pipeline@machine, the same --test-fraction), so the held-out
figures printed beside every kept step are of pipelines the constants were not fitted on.

It starts from the first guesses the constants had before they were calibrated (or --start)
and prints, at the end, the values to write into AnalyticConstants. The shipped values came from
  training/calibrate_analytic.py data/g/all.db
on the six refeaturized Zen 4 files (training/README.md, "Calibrating the analytic model").
"""
import argparse
import collections
import csv
import os
import subprocess
import sys
import tempfile

# The constants fitted (AnalyticConstants), from their first guesses. The latency of an
# accumulator chain's step is not among them: fitted with these, it went from 4 cycles to 2.8 for
# 0.001 of pairwise accuracy, while a measured 3x3 convolution whose one accumulator chain ran
# 3.3x slower than six chains (test Featurizer.FewAccumulatorsWaitOnTheirChains) needs the 4
# cycles of a fused multiply-add.
FIRST_GUESSES = collections.OrderedDict([
    ("broadcast_load_slots", 0.5),
    ("scattered_store_slots", 4.0),
    ("fused_share", 1.0),
    ("spill_factor", 3.0),
    ("llc_bandwidth", 50e9),
    ("l1_block_bytes", 32768.0),
])


def split_point(key):
    """harl-train's split_point(): FNV-1a of the key, top 53 bits as a fraction."""
    h = 1469598103934665603
    for b in key.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return (h >> 11) / float(1 << 53)


def ranking(groups):
    """Pairwise accuracy (all pairs, pairs >5% apart), mean Kendall tau, top-1 within 10%."""
    right = total = right5 = total5 = 0
    taus, tops = [], []
    for s in groups:
        r = t = 0
        for i in range(len(s)):
            for j in range(i + 1, len(s)):
                (mi, pi), (mj, pj) = s[i], s[j]
                if mi == mj:
                    continue
                ok = (mi < mj) == (pi < pj)
                t += 1
                r += ok
                if max(mi, mj) > 1.05 * min(mi, mj):
                    total5 += 1
                    right5 += ok
        if t == 0:
            continue
        right += r
        total += t
        taus.append((2 * r - t) / t)
        best = min(m for m, _ in s)
        tops.append(min(s, key=lambda x: x[1])[0] <= 1.1 * best)
    return (right / max(1, total), right5 / max(1, total5), sum(taus) / max(1, len(taus)),
            sum(tops) / max(1, len(tops)))


def evaluate(args, constants, out_csv):
    spec = ",".join("%s=%.6g" % kv for kv in constants.items())
    cmd = [args.harl_train, "--evaluate", "--analytic-constants", spec, "--predictions", out_csv, "--db"]
    done = subprocess.run(cmd + args.datasets, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("calibrate_analytic.py: %s failed:\n%s" % (" ".join(cmd), done.stderr))
    groups = collections.defaultdict(list)
    with open(out_csv) as f:
        for row in csv.DictReader(f):
            groups[(row["pipeline"], row["machine"])].append(
                (float(row["measured_s"]), float(row["predicted_s"])))
    fitted, held_out = [], []
    for (pipeline, machine), s in groups.items():
        if len(s) >= 2:
            (held_out if split_point(pipeline + "@" + machine) < args.test_fraction else fitted).append(s)
    return ranking(fitted), ranking(held_out), len(fitted), len(held_out)


def show(m):
    return "%.4f (%.4f) / %.4f / %.4f" % m


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("datasets", nargs="+", help="harl-collect dataset files (current feature layout)")
    p.add_argument("--harl-train", default="build/training/harl-train")
    p.add_argument("--test-fraction", type=float, default=0.1, help="as harl-train's: never fitted on")
    p.add_argument("--start", default="", help="NAME=VALUE,... to start from instead of the first guesses")
    p.add_argument("--steps", default="0.5,0.7,1.4,2", help="factors each constant is tried at")
    p.add_argument("--min-gain", type=float, default=0.0003, help="pairwise accuracy a step must add")
    args = p.parse_args()
    constants = collections.OrderedDict(FIRST_GUESSES)
    for item in filter(None, args.start.split(",")):
        name, _, value = item.partition("=")
        if name not in constants:
            sys.exit("calibrate_analytic.py: --start: unknown constant %r (known: %s)" %
                     (name, ", ".join(constants)))
        constants[name] = float(value)
    steps = [float(s) for s in args.steps.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        out_csv = os.path.join(tmp, "predictions.csv")
        fitted, held_out, n_fit, n_held = evaluate(args, constants, out_csv)
        print("start: fitted on %d pipelines %s, held out %d: %s" % (n_fit, show(fitted), n_held, show(held_out)))
        best = fitted[0]
        changed = True
        while changed:
            changed = False
            for name in list(constants):
                keep = None
                for step in steps:
                    trial = collections.OrderedDict(constants)
                    trial[name] = constants[name] * step
                    f, h, _, _ = evaluate(args, trial, out_csv)
                    if f[0] > best + args.min_gain:
                        best, keep = f[0], (trial, f, h)
                if keep:
                    constants, changed = keep[0], True
                    print("%s = %.6g: fitted %s, held out %s" % (name, constants[name], show(keep[1]), show(keep[2])),
                          flush=True)
    print("calibrated: " + ",".join("%s=%.6g" % kv for kv in constants.items()))


if __name__ == "__main__":
    main()
