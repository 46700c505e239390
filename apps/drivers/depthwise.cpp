// Driver for depthwise_layer: C, W, H, S from -D flags.
#include "bench_common.h"
#include "variants.h"

using Halide::Runtime::Buffer;

int main(int argc, char **argv) {
    Buffer<float> input(C, S * (W - 1) + 3, S * (H - 1) + 3, 1), filter(C, 3, 3), bias(C), ref(C, W, H, 1);
    bench::fill_random(input, 1, 0.0f, 1.0f);
    bench::fill_random(filter, 2);
    bench::fill_random(bias, 3);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            for (int c = 0; c < C; c++) {
                double acc = bias(c);
                for (int ky = 0; ky < 3; ky++) {
                    for (int kx = 0; kx < 3; kx++)
                        acc += (double)filter(c, kx, ky) * input(c, S * x + kx, S * y + ky, 0);
                }
                ref(c, x, y, 0) = (float)std::min(6.0, std::max(0.0, acc));
            }
        }
    }
    std::vector<bench::Variant> vs;
    std::vector<Buffer<float>> outs;
#define X(name, fn)                                                                                          \
    outs.emplace_back(C, W, H, 1);                                                                           \
    vs.push_back(                                                                                            \
        {#name, [&](Buffer<float> &out) { return bench::synced(out, fn(input, filter, bias, out)); }});
    VARIANT_LIST
#undef X
    std::vector<bool> ok = bench::check_all(vs, outs, ref, 1e-4);
    return bench::time_variants(APP_NAME, vs, ok, bench::timing_from_args(argc, argv), 2.0 * C * 9 * W * H,
                                outs.at(0));
}
