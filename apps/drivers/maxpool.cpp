// Driver for maxpool: C, W, H from -D flags.
#include "bench_common.h"
#include "variants.h"

using Halide::Runtime::Buffer;

int main(int argc, char **argv) {
    Buffer<float> input(C, 2 * W + 1, 2 * H + 1, 1), ref(C, W, H, 1);
    bench::fill_random(input, 1);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            for (int c = 0; c < C; c++) {
                float m = -INFINITY;
                for (int ky = 0; ky < 3; ky++) {
                    for (int kx = 0; kx < 3; kx++)
                        m = std::max(m, input(c, 2 * x + kx, 2 * y + ky, 0));
                }
                ref(c, x, y, 0) = m;
            }
        }
    }
    std::vector<bench::Variant> vs;
    std::vector<Buffer<float>> outs;
#define X(name, fn)                                                                                          \
    outs.emplace_back(C, W, H, 1);                                                                           \
    vs.push_back({#name, [&](Buffer<float> &out) { return bench::synced(out, fn(input, out)); }});
    VARIANT_LIST
#undef X
    std::vector<bool> ok = bench::check_all(vs, outs, ref, 0);
    // FLOPs: 8 comparisons per output (max-pool has no multiply-adds; reported as comparisons).
    return bench::time_variants(APP_NAME, vs, ok, bench::timing_from_args(argc, argv), 8.0 * C * W * H,
                                outs.at(0));
}
