#!/usr/bin/env python3
"""Calibrates the CPU analytic model's constants (AnalyticConstants in cost_model/CostModel.h).

Usage: calibrate_analytic.py [--harl-train PATH] [--test-fraction F] [--start NAME=V,...]
                             [--steps 0.5,0.7,1.4,2] [--min-gain 0.0003] DATASET.db...

Coordinate descent on measured data: for each constant in turn, it evaluates the analytic model
with the constant times each step (`harl-train --evaluate --analytic-constants ...
--test-fraction F`, which ranks the pipelines outside its test split and inside it apart) and
keeps the best value if the pairwise ranking accuracy outside the test split rose by more than
--min-gain; it repeats the round until one keeps nothing. The held-out figures printed beside
every kept step are of pipelines the constants were not fitted on.

It starts from the first guesses the constants had before they were calibrated (or --start)
and prints, at the end, the values to write into AnalyticConstants. The shipped values came from
  training/calibrate_analytic.py data/g/all.db
on the six refeaturized Zen 4 files (training/README.md, "Calibrating the analytic model").
"""
import argparse
import collections
import re
import subprocess
import sys

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


METRICS = re.compile(r"pairwise ([0-9.]+) \(>5% apart ([0-9.]+)\), kendall tau ([-0-9.]+), "
                     r"top-1 within 10% ([0-9.]+) \[([0-9]+) pipelines")


def evaluate(args, constants):
    """harl-train's ranking metrics (pairwise, pairs >5% apart, mean Kendall tau, top-1 within
    10%) and pipeline counts, outside its test split and inside it."""
    spec = ",".join("%s=%.6g" % kv for kv in constants.items())
    cmd = [args.harl_train, "--evaluate", "--analytic-constants", spec, "--test-fraction",
           repr(args.test_fraction), "--db"] + args.datasets
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("calibrate_analytic.py: %s failed:\n%s" % (" ".join(cmd), done.stderr))
    parts = {}
    for line in done.stdout.splitlines():
        for part in ("outside the test split", "held-out test pipelines"):
            match = METRICS.search(line)
            if part in line and match:
                parts[part] = (tuple(float(g) for g in match.groups()[:4]), int(match.group(5)))
    if len(parts) != 2:
        sys.exit("calibrate_analytic.py: %s printed no metrics of the test split and the rest:\n%s" %
                 (" ".join(cmd), done.stdout))
    (fitted, n_fit), (held_out, n_held) = parts["outside the test split"], parts["held-out test pipelines"]
    return fitted, held_out, n_fit, n_held


def show(m):
    return "%.4f (%.4f) / %.4f / %.4f" % m


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("datasets", nargs="+", help="harl-collect dataset files (current feature layout)")
    p.add_argument("--harl-train", default="build/training/harl-train")
    p.add_argument("--test-fraction", type=float, default=0.1, help="harl-train's: never fitted on")
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
    fitted, held_out, n_fit, n_held = evaluate(args, constants)
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
                f, h, _, _ = evaluate(args, trial)
                if f[0] > best + args.min_gain:
                    best, keep = f[0], (trial, f, h)
            if keep:
                constants, changed = keep[0], True
                print("%s = %.6g: fitted %s, held out %s" % (name, constants[name], show(keep[1]), show(keep[2])),
                      flush=True)
    print("calibrated: " + ",".join("%s=%.6g" % kv for kv in constants.items()))


if __name__ == "__main__":
    main()
