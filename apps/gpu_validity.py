#!/usr/bin/env python3
"""How many of the GPU candidates HARL proposes are invalid (cannot launch on the target: too
many threads, too much shared memory or too many registers per block, grid too large), with
validity-driven initialisation (HARL_GPU_INIT=valid, the default) and with unconstrained
proposals (HARL_GPU_INIT=naive), over every app and N random pipelines. Invalid proposals are
never scored either way; the returned schedule is checked (HARL fails loudly otherwise) and
counted here as invalid if the generator fails.

  python3 apps/gpu_validity.py --build build [--pipelines 50] [--target host-cuda-cuda_capability_80]
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def run(cmd, init, outdir):
    env = dict(os.environ, HARL_VERBOSE="1", HARL_GPU_INIT=init)
    r = subprocess.run(cmd + ["-o", outdir, "-e", "schedule"], capture_output=True, text=True, env=env)
    m = re.search(r"(\d+) of (\d+) proposals invalid", r.stderr)
    if r.returncode != 0 or not m:
        return None
    return int(m.group(1)), int(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--pipelines", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--target", default="host-cuda-cuda_capability_80")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out or os.path.join(build, "gpu-validity"))
    os.makedirs(out, exist_ok=True)
    plugin = ["-p", os.path.join(build, "libharl_autosched.so"), "-s", "HARL"]
    common = [f"target={args.target}", "auto_schedule=true", f"machine_params={bench.MACHINE_PARAMS}"]
    cases = []
    for app, spec in bench.APPS.items():
        cmd = [os.path.join(build, "apps", "harl_apps.generator"), "-g", spec["gen"], "-f", app] + plugin + common
        cases.append((app, cmd + [f"{k}={v}" for k, v in spec["params"].items()]))
    for seed in range(args.first_seed, args.first_seed + args.pipelines):
        cmd = [os.path.join(build, "training", "random_pipeline.generator"), "-g", "random_pipeline",
               "-f", f"rp{seed}"] + plugin + common + [f"seed={seed}"]
        cases.append((f"random{seed}", cmd))
    totals = {"valid": [0, 0, 0], "naive": [0, 0, 0]}  # invalid, proposed, failed runs
    print(f"{'pipeline':<12} {'valid init: invalid/proposed':>30} {'naive: invalid/proposed':>26}")
    for name, cmd in cases:
        cells = []
        for init in ("valid", "naive"):
            r = run(cmd, init, out)
            if r is None:
                totals[init][2] += 1
                cells.append("FAILED")
                continue
            totals[init][0] += r[0]
            totals[init][1] += r[1]
            cells.append(f"{r[0]}/{r[1]} ({100.0 * r[0] / max(1, r[1]):.1f}%)")
        print(f"{name:<12} {cells[0]:>30} {cells[1]:>26}", flush=True)
    fr = {k: v[0] / max(1, v[1]) for k, v in totals.items()}
    print(f"\nover {len(cases)} pipelines ({len(bench.APPS)} apps, {args.pipelines} random), target {args.target}:")
    for k in ("valid", "naive"):
        print(f"  {k:<6} initialisation: {totals[k][0]} of {totals[k][1]} proposals invalid ({100 * fr[k]:.2f}%), "
              f"{totals[k][2]} runs failed")
    if fr["valid"] > 0:
        print(f"  naive proposals are invalid {fr['naive'] / fr['valid']:.1f}x as often")
    print("  invalid schedules returned: 0 (every returned schedule is checked; a failing one fails the run)"
          if totals["valid"][2] == 0 and totals["naive"][2] == 0 else "  SOME RUNS FAILED")
    return 0 if totals["valid"][2] == 0 and totals["naive"][2] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
