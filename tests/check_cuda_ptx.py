#!/usr/bin/env python3
"""Builds every app for a CUDA target with HARL (and optionally other autoschedulers), pulls
the PTX out of each static library and assembles every kernel with ptxas for each requested
architecture. Fails when ptxas rejects a kernel, when a kernel spills or needs more than 255
registers, or (for HARL, whose schedule header lists each kernel's block shape) when
registers x threads per block exceed the 64K registers of an SM or a block has more than 1024
threads. Prints one line per (app, system, arch).

  python3 tests/check_cuda_ptx.py --build build [--arch sm_80,sm_90] [--systems harl,li2018]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "apps"))
import bench  # noqa: E402  (the apps, their shapes and how each system is run)

REGISTERS_PER_BLOCK = 65536
MAX_THREADS = 1024


def ptx_modules(lib):
    """The NUL-terminated PTX texts embedded in a static library."""
    data = open(lib, "rb").read()
    out, i = [], 0
    while True:
        i = data.find(b".version ", i)
        if i < 0:
            return out
        j = data.find(b"\0", i)
        text = data[i:j].decode(errors="replace")
        if ".entry" in text:
            out.append(text)
        i = j


def harl_block_threads(schedule_h):
    """Threads per block of each (Func, stage) kernel, from HARL's decision comment:
    '//   relu: root [kernel c:64x1 y:8x1; ...]' (var:threads x points-per-thread)."""
    threads = {}
    for line in open(schedule_h):
        m = re.match(r"//\s+(\S+): root \[(.*)\]", line.strip())
        if not m:
            continue
        for stage, part in enumerate(m.group(2).split(";")):
            t = 1
            for _, n in re.findall(r"(\S+):(\d+)x\d+", part):
                t *= int(n)
            if part.strip().startswith("kernel"):
                threads[(m.group(1), stage)] = t
    return threads


def kernel_func_stage(kernel, funcs):
    """('relu', 0) for '_kernel_relu_s0_x_x_n___block_id_z', matching the longest Func name."""
    best = None
    for (f, s) in funcs:
        if kernel.startswith(f"_kernel_{f}_s{s}_") and (best is None or len(f) > len(best[0])):
            best = (f, s)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=None)
    ap.add_argument("--apps", default=",".join(bench.APPS))
    ap.add_argument("--systems", default="harl")
    ap.add_argument("--target", default="host-cuda-cuda_capability_80")
    ap.add_argument("--arch", default="sm_80,sm_90")
    ap.add_argument("--ptxas", default=shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    if not os.path.exists(args.ptxas):
        print(f"ptxas not found ({args.ptxas}): CUDA kernels not assembled")
        return 0
    args.build = os.path.abspath(args.build)
    args.out = os.path.abspath(args.out or os.path.join(args.build, "cuda-ptx"))
    failures = 0
    print(f"{'app':<10} {'system':<10} {'arch':<6} {'kernels':>7} {'max regs':>8} {'max thr':>7} {'regs*thr':>8}  status")
    for app in args.apps.split(","):
        for system in args.systems.split(","):
            outdir = os.path.join(args.out, app)
            os.makedirs(outdir, exist_ok=True)
            ok, _, _ = bench.generate(app, system, args, outdir)
            lib = os.path.join(outdir, f"{app}_{system}.a")
            if not ok or not os.path.exists(lib):
                print(f"{app:<10} {system:<10} {'-':<6} {'-':>7} {'-':>8} {'-':>7} {'-':>8}  GENERATOR FAILED")
                failures += 1
                continue
            mods = ptx_modules(lib)
            sched = os.path.join(outdir, f"{app}_{system}.schedule.h")
            threads = harl_block_threads(sched) if system.startswith("harl") and os.path.exists(sched) else {}
            for arch in args.arch.split(","):
                kernels, max_regs, max_thr, max_prod, problems = 0, 0, 0, 0, []
                if not mods:
                    problems.append("no PTX in the library (nothing runs on the GPU)")
                for k, text in enumerate(mods):
                    ptx = os.path.join(outdir, f"{app}_{system}_{k}.ptx")
                    open(ptx, "w").write(text)
                    r = subprocess.run([args.ptxas, f"-arch={arch}", "-v", ptx, "-o", os.devnull],
                                       capture_output=True, text=True)
                    if r.returncode != 0:
                        problems.append("ptxas: " + r.stderr.strip().splitlines()[-1])
                        continue
                    current = None
                    for line in r.stderr.splitlines():
                        m = re.search(r"Compiling entry function '(\S+)'", line)
                        if m:
                            current = m.group(1)
                            kernels += 1
                        m = re.search(r"(\d+) bytes spill stores", line)
                        if m and int(m.group(1)) > 0:
                            problems.append(f"{current} spills {m.group(1)} bytes")
                        m = re.search(r"Used (\d+) registers", line)
                        if m:
                            regs = int(m.group(1))
                            max_regs = max(max_regs, regs)
                            fs = kernel_func_stage(current, threads) if threads else None
                            if threads and fs is None:
                                problems.append(f"{current}: no block shape in the schedule header")
                            elif fs:
                                t = threads[fs]
                                max_thr = max(max_thr, t)
                                max_prod = max(max_prod, t * regs)
                                if t > MAX_THREADS or t * regs > REGISTERS_PER_BLOCK:
                                    problems.append(f"{current}: {t} threads x {regs} registers cannot launch")
                status = "ok" if not problems else "FAIL: " + "; ".join(problems[:3])
                failures += 1 if problems else 0
                thr = str(max_thr) if threads else "?"
                prod = str(max_prod) if threads else "?"
                print(f"{app:<10} {system:<10} {arch:<6} {kernels:>7} {max_regs:>8} {thr:>7} {prod:>8}  {status}",
                      flush=True)
    if failures:
        print(f"\n{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
