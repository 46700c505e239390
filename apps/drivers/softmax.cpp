// Driver for softmax: ROWS, CLASSES from -D flags.
#include "bench_common.h"
#include "variants.h"

using Halide::Runtime::Buffer;

int main(int argc, char **argv) {
    Buffer<float> input(CLASSES, ROWS), ref(CLASSES, ROWS);
    bench::fill_random(input, 1, -4.0f, 4.0f);
    for (int y = 0; y < ROWS; y++) {
        double m = -INFINITY, s = 0;
        for (int x = 0; x < CLASSES; x++)
            m = std::max(m, (double)input(x, y));
        for (int x = 0; x < CLASSES; x++)
            s += std::exp(input(x, y) - m);
        for (int x = 0; x < CLASSES; x++)
            ref(x, y) = (float)(std::exp(input(x, y) - m) / s);
    }
    std::vector<bench::Variant> vs;
    std::vector<Buffer<float>> outs;
#define X(name, fn)                                                                                          \
    outs.emplace_back(CLASSES, ROWS);                                                                        \
    vs.push_back({#name, [&](Buffer<float> &out) { return bench::synced(out, fn(input, out)); }});
    VARIANT_LIST
#undef X
    std::vector<bool> ok = bench::check_all(vs, outs, ref, 1e-4);
    // No FLOP rate for softmax (exp dominates; its FLOP count is not well defined).
    return bench::time_variants(APP_NAME, vs, ok, bench::timing_from_args(argc, argv), 0, outs.at(0));
}
