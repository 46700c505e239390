#!/usr/bin/env python3
"""GPU fuzzer: random pipelines (training/random_pipeline.generator, inputs embedded) scheduled
by HARL for an OpenCL device run there (pocl runs OpenCL kernels on the CPU when no GPU is
present) and must match the same pipeline compiled unscheduled for the host CPU. The schedule
is the one HARL emits for any GPU target (blocks, threads, shared memory, registers), so this
checks what the CUDA PTX test cannot: that the schedules compute the right values.

  python3 tests/gpu_fuzz_opencl.py --build build [--seeds 1-20] [--max-stages 8]
"""
import argparse
import array
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OPENCL = "/usr/lib/x86_64-linux-gnu/libOpenCL.so.1"


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def compare(gpu, ref, tol):
    """(ok, max error relative to max(1, |reference|), description) over the float32 values
    the random pipeline generator outputs. Besides values within `tol`, a few values (at most
    0.1%) may differ by one quantisation step (<= 1%): the device's float math rounds
    differently from the CPU's, which flips casts to small integer types at .5 boundaries."""
    a, b = array.array("f"), array.array("f")
    a.frombytes(open(gpu, "rb").read())
    b.frombytes(open(ref, "rb").read())
    if len(a) != len(b):
        return False, float("inf"), f"{len(a)} values vs {len(b)}"
    worst, where, bad = 0.0, "", 0
    for i, (x, y) in enumerate(zip(a, b)):
        err = abs(x - y) / max(1.0, abs(y))
        bad += 0 if err <= tol else 1
        if not err <= worst:
            worst, where = err, f"value {i}: got {x} expected {y}"
    ok = bad == 0 or (bad <= max(2, len(a) // 1000) and worst <= 1e-2)
    return ok, worst, f"{bad} of {len(a)} values beyond {tol}, worst {where}" if bad else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seeds", default="1-20", help="first-last")
    ap.add_argument("--max-stages", type=int, default=8)
    ap.add_argument("--tolerance", type=float, default=1e-3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out or os.path.join(build, "gpu-fuzz"))
    os.makedirs(out, exist_ok=True)
    gen = os.path.join(build, "training", "random_pipeline.generator")
    plugin = os.path.join(build, "libharl_autosched.so")
    lo, hi = (int(x) for x in args.seeds.split("-"))
    # Halide 14's "host" takes AMD Zen 4 for Sapphire Rapids (SIGILL there): resolve it as
    # HARL's tools do (autoscheduler/HostTarget.h).
    host = subprocess.run([os.path.join(build, "apps", "harl-host-target")], capture_output=True, text=True,
                          check=True).stdout.strip()
    failures = 0
    for seed in range(lo, hi + 1):
        params = [f"seed={seed}", f"max_stages={args.max_stages}"]
        exes = {}
        for v, target, extra in (("gpu", host + "-opencl", ["-p", plugin, "-s", "HARL", "auto_schedule=true"]),
                                 ("ref", host, [])):
            fn = f"rp{seed}_{v}"
            r = sh([gen, "-g", "random_pipeline", "-f", fn, "-o", out, "-e", "static_library,h,schedule",
                    f"target={target}"] + extra + params)
            if r.returncode != 0:
                print(f"seed {seed}: generator ({v}) failed:\n{r.stderr[-2000:]}")
                failures += 1
                break
            exe = os.path.join(out, fn)
            link = ["-Wl,--no-as-needed", OPENCL, "-Wl,--as-needed"] if v == "gpu" else []
            r = sh(["g++", "-O1", "-std=c++17", f"-DFN={fn}", "-include", os.path.join(out, fn + ".h"),
                    "-I/usr/include/halide14", os.path.join(HERE, "run_embedded_pipeline.cpp"),
                    os.path.join(out, fn + ".a")] + link + ["-ldl", "-lpthread", "-o", exe])
            if r.returncode != 0:
                print(f"seed {seed}: link ({v}) failed:\n{r.stderr[-2000:]}")
                failures += 1
                break
            exes[v] = exe
        if len(exes) != 2:
            continue
        ok = True
        for v, exe in exes.items():
            r = sh([exe, exe + ".raw"], timeout=300)
            if r.returncode != 0:
                print(f"seed {seed}: {v} run failed (exit {r.returncode}): {r.stderr[-1000:]}")
                ok = False
        if not ok:
            failures += 1
            continue
        ok, err, where = compare(exes["gpu"] + ".raw", exes["ref"] + ".raw", args.tolerance)
        sched = open(os.path.join(out, f"rp{seed}_gpu.schedule.h")).read()
        kernels = sched.count(".gpu_blocks(")
        status = ("ok" if ok else "MISMATCH") + (f" ({where})" if where else "")
        print(f"seed {seed:3}: {kernels} kernels, max rel error {err:.2e}  {status}", flush=True)
        failures += 0 if ok else 1
    print(f"\n{failures} failure(s)" if failures else "\nall seeds match")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
