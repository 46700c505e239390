// Shared by the app drivers: deterministic inputs, output checks and the timing loop that
// alternates the systems under comparison within one run (min and median of the rounds).
#pragma once

#include "HalideBuffer.h"
#include "HalideRuntime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace bench {

inline void fill_random(Halide::Runtime::Buffer<float> &b, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    b.for_each_value([&](float &v) { v = d(rng); });
}

// Max error relative to max(1, |reference|); prints the first bad element.
inline bool check(const Halide::Runtime::Buffer<float> &got, const Halide::Runtime::Buffer<float> &ref,
                  double tol, const char *who) {
    double worst = 0;
    bool reported = false;
    ref.for_each_element([&](const int *pos) {
        double r = ref(pos), g = got(pos);
        double err = std::abs(g - r) / std::max(1.0, std::abs(r));
        if (!(err <= tol) && !reported) {
            std::fprintf(stderr, "%s: mismatch at (%d,%d,...): got %g expected %g\n", who, pos[0],
                         got.dimensions() > 1 ? pos[1] : 0, g, r);
            reported = true;
        }
        if (!(err <= worst)) worst = err;
    });
    return worst <= tol;
}

// A pipeline's result once the device (GPU targets) has finished: its error, else the sync's.
inline int synced(Halide::Runtime::Buffer<float> &out, int err) {
    return err != 0 ? err : out.device_sync();
}

// A system's pipeline, run into the buffer it is given; returns the Halide error code.
struct Variant {
    std::string name;
    std::function<int(Halide::Runtime::Buffer<float> &)> run;
};

// Runs every variant once into its own output (outs[i]) and checks it against the reference.
inline std::vector<bool> check_all(std::vector<Variant> &vs,
                                   std::vector<Halide::Runtime::Buffer<float>> &outs,
                                   const Halide::Runtime::Buffer<float> &ref, double tol) {
    std::vector<bool> ok;
    for (size_t i = 0; i < vs.size(); i++) {
        int err = vs[i].run(outs[i]);
        // GPU targets leave the output on the device.
        if (err == 0) err = outs[i].copy_to_host();
        if (err != 0) std::fprintf(stderr, "%s: Halide error %d\n", vs[i].name.c_str(), err);
        ok.push_back(err == 0 && check(outs[i], ref, tol, vs[i].name.c_str()));
    }
    return ok;
}

// The driver's arguments: [rounds (5)] [milliseconds of back-to-back calls per round (0: one call)].
struct Timing {
    int rounds = 5;
    double round_ms = 0;
};

inline Timing timing_from_args(int argc, char **argv) {
    Timing t;
    if (argc > 1) t.rounds = std::max(0, std::atoi(argv[1]));
    if (argc > 2) t.round_ms = std::max(0.0, std::atof(argv[2]));
    return t;
}

// Runs every variant in turn, `timing.rounds` times, all into the same output buffer `out` (so
// that no system gains or loses by where its output lies: the 60 us depthwise layer ran 0.060 to
// 0.084 ms with the same schedule, depending on which systems the driver linked), and prints one
// RESULT line each:
// RESULT,<app>,<variant>,<correct 0/1>,<min ms>,<median ms>,<GFLOP/s at min>
// In each round a variant is called back to back until `timing.round_ms` have passed (at least
// once) and the round's time is the mean per call: a single call of a pipeline that runs for tens
// of microseconds mostly times the thread pool waking up, so its minimum over a few rounds varied
// by 2x between runs of the bench.
inline int time_variants(const char *app, std::vector<Variant> &vs, const std::vector<bool> &correct,
                         const Timing &timing, double flops, Halide::Runtime::Buffer<float> &out) {
    using clock = std::chrono::steady_clock;
    std::vector<std::vector<double>> ms(vs.size());
    for (int r = 0; r < timing.rounds; r++) {
        for (size_t i = 0; i < vs.size(); i++) {
            auto t0 = clock::now();
            double elapsed = 0;
            int calls = 0;
            do {
                if (vs[i].run(out) != 0) {
                    std::fprintf(stderr, "%s/%s failed\n", app, vs[i].name.c_str());
                    return 1;
                }
                calls++;
                elapsed = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
            } while (elapsed < timing.round_ms);
            ms[i].push_back(elapsed / calls);
        }
    }
    for (size_t i = 0; i < vs.size(); i++) {
        std::sort(ms[i].begin(), ms[i].end());
        double mn = ms[i].front(), med = ms[i][ms[i].size() / 2];
        double gflops = flops > 0 ? flops / (mn * 1e-3) / 1e9 : 0;
        std::printf("RESULT,%s,%s,%d,%.4f,%.4f,%.2f\n", app, vs[i].name.c_str(), (int)correct[i], mn, med,
                    gflops);
    }
    return 0;
}

} // namespace bench
