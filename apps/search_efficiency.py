#!/usr/bin/env python3
"""Search efficiency with measurements: HARL's RL tuner against two baselines over the same search
space, measurer and budget (HARL_TUNER=rl|random|dropout with HARL_MEASURE=N; see
autoscheduler/refine/MeasuredTuner.h). For each app it runs the generator once per strategy with
HARL_TRACE, then reports how many measurements each strategy needs to come within 5% of the best
schedule HARL-RL finds with the whole budget, and draws the convergence plot (best measured runtime
against measurements and against wall time) as a PNG per app.

  python3 apps/search_efficiency.py --build build --measurements 512 [--apps conv3x3,gemm]
"""
import argparse
import csv
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (APPS, MACHINE_PARAMS, apply_shapes)

STRATEGIES = ["rl", "random", "dropout"]
LABELS = {"rl": "HARL-RL", "random": "random sampling", "dropout": "dropout greedy (Adams2019-style)"}


def run_strategy(app, strategy, args, outdir, trace):
    spec = bench.APPS[app]
    gen = os.path.join(args.build, "apps", "harl_apps.generator")
    cmd = [gen, "-g", spec["gen"], "-f", f"{app}_{strategy}", "-o", outdir, "-e", "schedule",
           "-p", os.path.join(args.build, "libharl_autosched.so"), "-s", "HARL",
           f"target={args.target}", "auto_schedule=true", f"machine_params={bench.MACHINE_PARAMS}"]
    cmd += [f"{k}={v}" for k, v in spec["params"].items()]
    env = dict(os.environ, HARL_MEASURE=str(args.measurements), HARL_TUNER=strategy, HARL_TRACE=trace,
               HARL_SEED=str(args.seed))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    if r.returncode != 0:
        sys.stderr.write(f"[{app}/{strategy}] generator failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}\n")
        return False
    return True


def load_trace(path):
    rows = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["strategy"], []).append(row)
    return rows


def first_within(rows, target, tol=1.05):
    for r in rows:
        b = float(r["best_s"])
        if b > 0 and b <= target * tol:
            return int(r["index"])
    return None


def plot(app, traces, png):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib missing: no plot)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for s, rows in traces.items():
        idx = [int(r["index"]) for r in rows if float(r["best_s"]) > 0]
        wall = [float(r["wall_s"]) for r in rows if float(r["best_s"]) > 0]
        best = [float(r["best_s"]) * 1e3 for r in rows if float(r["best_s"]) > 0]
        axes[0].step(idx, best, where="post", label=LABELS[s])
        axes[1].step(wall, best, where="post", label=LABELS[s])
    axes[0].set_xlabel("measurements")
    axes[1].set_xlabel("wall time (s)")
    for ax in axes:
        ax.set_ylabel("best measured runtime (ms)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{app}: convergence with measurements")
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--apps", default=",".join(bench.APPS))
    ap.add_argument("--measurements", type=int, default=512)
    ap.add_argument("--target", default="host-no_runtime")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=4 * 3600)
    ap.add_argument("--out", default=None, help="default BUILD/bench/efficiency")
    ap.add_argument("--shape", action="append", default=[])
    args = ap.parse_args()
    bench.apply_shapes(args.shape)
    args.build = os.path.abspath(args.build)
    out = os.path.abspath(args.out or os.path.join(args.build, "bench", "efficiency"))
    os.makedirs(out, exist_ok=True)
    summary = []
    for app in [a for a in args.apps.split(",") if a]:
        trace = os.path.join(out, f"{app}_trace.csv")
        if os.path.exists(trace):
            os.remove(trace)
        # Alternate the strategies' order per app: the machine's load drifts.
        order = STRATEGIES if len(summary) % 2 == 0 else list(reversed(STRATEGIES))
        for s in order:
            print(f"[{app}] {LABELS[s]}: {args.measurements} measurements...", flush=True)
            run_strategy(app, s, args, out, trace)
        if not os.path.exists(trace):
            continue
        traces = load_trace(trace)
        if "rl" not in traces:
            continue
        target = min(float(r["best_s"]) for r in traces["rl"] if float(r["best_s"]) > 0)
        counts = {s: first_within(traces.get(s, []), target) for s in STRATEGIES}
        bests = {s: min([float(r["best_s"]) for r in traces.get(s, []) if float(r["best_s"]) > 0] or [0])
                 for s in STRATEGIES}
        used = {s: len(traces.get(s, [])) for s in STRATEGIES}
        base = [counts[s] for s in ("random", "dropout")]
        better = min([c for c in base if c is not None], default=None)
        if better is None:
            ratio = f">{max(used['random'], used['dropout']) / counts['rl']:.1f}x"
        else:
            ratio = f"{better / counts['rl']:.1f}x"
        summary.append((app, target, counts, bests, used, ratio))
        plot(app, traces, os.path.join(out, f"{app}_convergence.png"))
    print(f"\nmeasurements needed to come within 5% of HARL-RL's best with {args.measurements} "
          "(- = never; used = measurements taken)")
    hdr = f"{'app':<10} {'RL best ms':>10} {'RL':>6} {'random':>8} {'dropout':>8}  {'best ms rl/random/dropout':>28}  {'used':>13}  {'gain':>7}"
    print(hdr)
    print("-" * len(hdr))
    for app, target, counts, bests, used, ratio in summary:
        c = {s: ("-" if counts[s] is None else str(counts[s])) for s in STRATEGIES}
        b = "/".join(f"{bests[s] * 1e3:.3f}" for s in STRATEGIES)
        u = "/".join(str(used[s]) for s in STRATEGIES)
        print(f"{app:<10} {target * 1e3:>10.3f} {c['rl']:>6} {c['random']:>8} {c['dropout']:>8}  {b:>28}  {u:>13}  {ratio:>7}")
    print(f"\ntraces and convergence plots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
