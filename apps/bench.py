#!/usr/bin/env python3
"""HARL benchmark driver: autoschedules every DNN layer app with each system, checks the
outputs against a naive reference, and times all systems alternately in one process.

For each (app, system) it runs the app's generator once, measuring the autoschedule time
(wall clock of the generator) and its peak memory (max RSS). Then one driver per app links all
systems' libraries, checks each against the reference and runs them round-robin for --runs
rounds (in each, every system called back to back for --round-ms and its mean per call taken),
reporting the minimum and median over the rounds. Prints a table, the geometric means and writes a CSV.

  python3 apps/bench.py --build build [--apps conv3x3,gemm] [--systems harl,adams2019]
                        [--runs 7] [--round-ms 20] [--csv out.csv] [--target arm-64-linux --check-only]
"""
import argparse
import csv
import math
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HALIDE_PLUGINS = "/usr/lib/x86_64-linux-gnu/halide14"
MACHINE_PARAMS = "2,33554432,40"
CUDA_HOME = os.environ.get("CUDA_HOME", "/usr/local/cuda")

# Each app: its generator, generator params (the real network's shape) and the name of the
# driver's -D define for each param, so that --shape can change both together.
CONV_DEFINES = dict(kernel="K", in_channels="CI", out_channels="CO", width="W", height="H")
APPS = {
    "conv3x3": dict(gen="conv_layer", params=dict(kernel=3, in_channels=64, out_channels=64, width=56, height=56),
                    driver="conv.cpp", defines=CONV_DEFINES),
    "conv1x1": dict(gen="conv_layer", params=dict(kernel=1, in_channels=64, out_channels=256, width=56, height=56),
                    driver="conv.cpp", defines=CONV_DEFINES),
    "gemm": dict(gen="gemm", params=dict(size=1024), driver="gemm.cpp", defines=dict(size="SIZE")),
    "depthwise": dict(gen="depthwise_layer", params=dict(channels=96, width=56, height=56, stride=2),
                      driver="depthwise.cpp", defines=dict(channels="C", width="W", height="H", stride="S")),
    "maxpool": dict(gen="maxpool", params=dict(channels=64, width=56, height=56), driver="maxpool.cpp",
                    defines=dict(channels="C", width="W", height="H")),
    "softmax": dict(gen="softmax", params=dict(rows=4096, classes=1000), driver="softmax.cpp",
                    defines=dict(rows="ROWS", classes="CLASSES")),
}


def apply_shapes(shapes):
    """--shape APP:param=value,... (repeatable) changes an app's shape, e.g.
    conv3x3:in_channels=128,out_channels=128,width=28,height=28."""
    for spec in shapes:
        app, _, kvs = spec.partition(":")
        if app not in APPS or not kvs:
            raise SystemExit(f"--shape {spec}: expected APP:param=value,... with APP one of {', '.join(APPS)}")
        for kv in kvs.split(","):
            k, _, v = kv.partition("=")
            if k not in APPS[app]["params"] or not v.isdigit():
                raise SystemExit(f"--shape {spec}: {app} has integer params {', '.join(APPS[app]['params'])}")
            APPS[app]["params"][k] = int(v)

SYSTEMS = ["harl", "harl_rl", "harl_measure64", "harl_analytic", "adams2019", "mullapudi2016", "manual"]
# Environment of each system's generator run: harl is HARL's default (the learned model: the
# shipped weights unless HARL_WEIGHTS is set); harl_learned (HARL_WEIGHTS or the shipped
# weights) and harl_analytic force their model, whatever the environment says.
# The RL ablation: harl (the default) is beam search only, harl_rl beam search + the RL pass with
# cost-model rewards, harl_measure64 beam search + RL with 64 measured candidates.
SYSTEM_ENV = {"harl_learned": {"HARL_COST_MODEL": "learned"}, "harl_analytic": {"HARL_COST_MODEL": "analytic"},
              "harl_rl": {"HARL_RL_BUDGET": "5"}, "harl_measure64": {"HARL_MEASURE": "64"},
              "harl_alone": {"HARL_PORTFOLIO": "0"}}


def system_args(system, build):
    if system == "harl" or system in SYSTEM_ENV:  # HARL with other options
        return ["-p", os.path.join(build, "libharl_autosched.so"), "-s", "HARL"], True
    if system == "adams2019":
        return ["-p", os.path.join(HALIDE_PLUGINS, "libautoschedule_adams2019.so"), "-s", "Adams2019"], True
    if system == "mullapudi2016":
        return ["-p", os.path.join(HALIDE_PLUGINS, "libautoschedule_mullapudi2016.so"), "-s", "Mullapudi2016"], True
    if system == "li2018":
        return ["-p", os.path.join(HALIDE_PLUGINS, "libautoschedule_li2018.so"), "-s", "Li2018"], True
    if system == "manual":
        return [], False
    raise SystemExit(f"unknown system {system}; known: {', '.join(SYSTEMS + ['li2018'])}")


def run_measured(cmd, timeout, env=None):
    """Runs cmd; returns (returncode, seconds, peak RSS in MB, output)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        return 124, time.monotonic() - t0, 0.0, out.decode(errors="replace") + "\n[timed out]"
    secs = time.monotonic() - t0
    # ru_maxrss of the finished child: Popen reaped it, so read it from the children's totals
    # is not per-process; re-run under /usr/bin/time instead when available.
    return p.returncode, secs, None, out.decode(errors="replace")


def generate(app, system, args, outdir):
    spec = APPS[app]
    gen = os.path.join(args.build, "apps", "harl_apps.generator")
    sargs, auto = system_args(system, args.build)
    fname = f"{app}_{system}"
    emit = "static_library,h,schedule" if auto else "static_library,h"
    cmd = [gen, "-g", spec["gen"], "-f", fname, "-o", outdir, "-e", emit] + sargs
    cmd += [f"target={args.target}-no_runtime", f"auto_schedule={'true' if auto else 'false'}",
            f"machine_params={MACHINE_PARAMS}"]
    cmd += [f"{k}={v}" for k, v in spec["params"].items()]
    timer = shutil.which("time") or "/usr/bin/time"
    rss_file = os.path.join(outdir, f"{fname}.rss")
    full = [timer, "-f", "%M", "-o", rss_file] + cmd if os.path.exists(timer) else cmd
    env = dict(os.environ, **SYSTEM_ENV.get(system, {}))
    rc, secs, _, out = run_measured(full, args.timeout, env)
    rss_mb = 0.0
    if os.path.exists(rss_file):
        try:
            rss_mb = int(open(rss_file).read().strip().splitlines()[-1]) / 1024.0
        except ValueError:
            pass
    if rc != 0:
        sys.stderr.write(f"[{app}/{system}] generator failed (exit {rc}):\n{out[-3000:]}\n")
    return rc == 0, secs, rss_mb


def build_driver(app, systems, args, outdir):
    spec = APPS[app]
    with open(os.path.join(outdir, "variants.h"), "w") as f:
        for s in systems:
            f.write(f'#include "{app}_{s}.h"\n')
        f.write("#define VARIANT_LIST " + " ".join(f"X({s}, {app}_{s})" for s in systems) + "\n")
    cxx = args.cxx
    exe = os.path.join(outdir, f"{app}_driver")
    cmd = [cxx, "-O2", "-std=c++17", "-I", "/usr/include/halide14", "-I", outdir, f'-DAPP_NAME="{app}"']
    cmd += [f"-D{spec['defines'][k]}={v}" for k, v in spec["params"].items()]
    cmd += [os.path.join(HERE, "drivers", spec["driver"])]
    cmd += [os.path.join(outdir, f"{app}_{s}.a") for s in systems]
    cmd += [os.path.join(args.out, "runtime.a"), "-lpthread", "-ldl", "-o", exe]
    if "cuda" in args.target and app == "gemm" and os.path.exists(os.path.join(CUDA_HOME, "include", "cublas_v2.h")):
        # cuBLAS's SGEMM as the GPU reference for the GEMM (reported as system "cublas").
        cmd[-3:-3] = ["-DHARL_CUBLAS", "-I", os.path.join(CUDA_HOME, "include"), "-L", os.path.join(CUDA_HOME, "lib64"),
                      "-lcublas", "-lcudart", f"-Wl,-rpath,{os.path.join(CUDA_HOME, 'lib64')}"]
    if "opencl" in args.target:
        # Halide's runtime finds OpenCL in the process (Debian ships libOpenCL.so.1 only).
        cmd[-3:-3] = ["-Wl,--no-as-needed", "/usr/lib/x86_64-linux-gnu/libOpenCL.so.1", "-Wl,--as-needed"]
    if args.static:
        cmd.append("-static")
    subprocess.run(cmd, check=True)
    return exe


def cuda_device_present():
    """Whether the CUDA driver loads and reports a device."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--apps", default=",".join(APPS))
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--runs", type=int, default=7, help="timing rounds (min and median reported)")
    ap.add_argument("--round-ms", type=float, default=20,
                    help="milliseconds each system is called back to back in a round (at least once); a round's "
                         "time is the mean per call (0: one call per round)")
    ap.add_argument("--csv", default=None)
    ap.add_argument("--out", default=None, help="work directory (default BUILD/bench)")
    ap.add_argument("--target", default="host")
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--runner", default="", help="prefix for running drivers, e.g. qemu-aarch64")
    ap.add_argument("--static", action="store_true", help="link drivers statically (cross targets)")
    ap.add_argument("--check-only", action="store_true", help="check outputs, one timing round")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per generator run")
    ap.add_argument("--shape", action="append", default=[], help="APP:param=value,... to change an app's shape")
    ap.add_argument("--weights", action="append", default=[],
                    help="NAME=FILE: adds system harl_NAME, HARL with the learned model and these weights "
                         "(to compare retrained weights in one run)")
    args = ap.parse_args()
    apply_shapes(args.shape)
    args.build = os.path.abspath(args.build)
    host_run = args.target == "host"
    if args.target.startswith("host"):
        # Halide 14's "host" takes AMD Zen 4 for Sapphire Rapids, whose code dies of SIGILL
        # there: resolve it as HARL's tools do (autoscheduler/HostTarget.h).
        args.target = subprocess.run([os.path.join(args.build, "apps", "harl-host-target"), args.target],
                                     capture_output=True, text=True, check=True).stdout.strip()
    args.out = os.path.abspath(args.out or os.path.join(args.build, "bench"))
    os.makedirs(args.out, exist_ok=True)
    apps = [a for a in args.apps.split(",") if a]
    systems = [s for s in args.systems.split(",") if s]
    for spec in args.weights:
        name, _, path = spec.partition("=")
        if not re.fullmatch(r"[A-Za-z0-9_]+", name) or not os.path.isfile(path):
            raise SystemExit(f"--weights {spec}: expected NAME=FILE, NAME letters, digits and _, FILE readable")
        SYSTEM_ENV["harl_" + name] = {"HARL_COST_MODEL": "learned", "HARL_WEIGHTS": os.path.abspath(path)}
        systems.append("harl_" + name)
    for a in apps:
        if a not in APPS:
            raise SystemExit(f"unknown app {a}; known: {', '.join(APPS)}")
    gen = os.path.join(args.build, "apps", "harl_apps.generator")
    subprocess.run([gen, "-r", "runtime", "-o", args.out, "-e", "static_library", f"target={args.target}"], check=True)

    # Peak FLOP/s: measured before and after the runs, the higher kept (the machine is shared:
    # a busy neighbour lowers one measurement, never raises it).
    peak = None
    measure_peak = None
    if not args.check_only and host_run:
        pk = os.path.join(args.out, "peak_flops")
        subprocess.run([args.cxx, "-O2", "-march=native", os.path.join(HERE, "drivers", "peak_flops.cpp"), "-o", pk,
                        "-lpthread"], check=True)

        def measure_peak():
            return float(subprocess.run([pk, MACHINE_PARAMS.split(",")[0]], capture_output=True, text=True,
                                        check=True).stdout.strip())
        peak = measure_peak()

    rows = []
    failures = 0
    for app in apps:
        appdir = os.path.join(args.out, app)
        os.makedirs(appdir, exist_ok=True)
        info = {}
        ok_systems = []
        for s in systems:
            ok, secs, rss = generate(app, s, args, appdir)
            info[s] = dict(autosched_s=secs if s != "manual" else 0.0, peak_mb=rss)
            print(f"[{app}] {s}: generated in {secs:.2f} s, peak {rss:.0f} MB" + ("" if ok else " FAILED"),
                  flush=True)
            if ok:
                ok_systems.append(s)
            else:
                failures += 1
        if not ok_systems:
            continue
        exe = build_driver(app, ok_systems, args, appdir)
        if "cuda" in args.target and not cuda_device_present():
            print(f"[{app}] no CUDA GPU on this machine: built for {args.target}, not run "
                  "(tests/check_cuda_ptx.py checks its kernels with ptxas)", flush=True)
            continue
        rounds = 1 if args.check_only else args.runs
        round_ms = 0 if args.check_only else args.round_ms
        cmd = (args.runner.split() if args.runner else []) + [exe, str(rounds), str(round_ms)]
        env = dict(os.environ, HL_NUM_THREADS=MACHINE_PARAMS.split(",")[0])
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        sys.stderr.write(r.stderr)
        if r.returncode != 0:
            print(f"[{app}] driver failed (exit {r.returncode})")
            failures += 1
        for line in r.stdout.splitlines():
            if not line.startswith("RESULT,"):
                continue
            _, a, s, correct, mn, med, gflops = line.split(",")
            row = dict(app=a, system=s, correct=int(correct), min_ms=float(mn), median_ms=float(med),
                       gflops=float(gflops), **info.get(s, dict(autosched_s=0.0, peak_mb=0.0)))
            row["pct_peak"] = 0.0
            rows.append(row)
            if not row["correct"]:
                failures += 1

    if measure_peak:
        peak = max(peak, measure_peak())
        for r in rows:
            r["pct_peak"] = 100.0 * r["gflops"] / peak if r["gflops"] > 0 else 0.0
    print()
    hdr = f"{'app':<10} {'system':<14} {'ok':>3} {'sched s':>8} {'peak MB':>8} {'min ms':>9} {'median ms':>10} {'GFLOP/s':>8} {'% peak':>7}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['app']:<10} {r['system']:<14} {'yes' if r['correct'] else 'NO':>3} {r['autosched_s']:>8.2f} "
              f"{r['peak_mb']:>8.0f} {r['min_ms']:>9.3f} {r['median_ms']:>10.3f} "
              f"{(r['gflops'] if r['gflops'] else float('nan')):>8.1f} {r['pct_peak']:>7.1f}")
    if peak:
        print(f"\nmeasured peak of this machine ({MACHINE_PARAMS.split(',')[0]} threads, best of before/after): "
              f"{peak:.1f} GFLOP/s")
        over = [r for r in rows if r.get("pct_peak", 0) > 110]
        if over:
            print(f"warning: {', '.join(sorted({r['app'] for r in over}))} ran more than 10% above the measured "
                  "peak: apps/drivers/peak_flops.cpp does not use this machine's widest FMA vectors, or the "
                  "clock ran faster during the apps; the % peak column understates nothing but is not trustworthy")
    noisy = sorted({r["app"] for r in rows if r["min_ms"] > 0 and r["median_ms"] > 1.1 * r["min_ms"]})
    if noisy and not args.check_only:
        print(f"\nnote: the median round of {', '.join(noisy)} ran more than 10% above its fastest (another "
              "load on the machine?); compare those apps over several runs of the bench")
    # Geometric means over the apps every system completed.
    done = {}
    for r in rows:
        done.setdefault(r["system"], {})[r["app"]] = r["min_ms"]
    common = [a for a in apps if all(a in done.get(s, {}) for s in done)]
    if common and done and not args.check_only:
        print(f"\ngeometric mean of min runtime over {len(common)} apps ({', '.join(common)}):")
        gm = {s: math.exp(sum(math.log(done[s][a]) for a in common) / len(common)) for s in done}
        base = gm.get("harl")
        for s, v in gm.items():
            ratio = f"  ({v / base:.2f}x HARL's)" if base else ""
            print(f"  {s:<14} {v:9.3f} ms{ratio}")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["app", "system", "correct", "autosched_s", "peak_mb", "min_ms",
                                              "median_ms", "gflops", "pct_peak"])
            w.writeheader()
            for r in rows:
                w.writerow(r)
        print(f"\nCSV written to {args.csv}")
    if failures:
        print(f"\n{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
