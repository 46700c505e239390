// Driver for conv_layer (conv3x3, conv1x1): K, CI, CO, W, H come from -D flags.
#include "bench_common.h"
#include "variants.h"

using Halide::Runtime::Buffer;

int main(int argc, char **argv) {
    const int N = 1;
    Buffer<float> input(CI, W + K - 1, H + K - 1, N), filter(CO, CI, K, K), bias(CO), ref(CO, W, H, N);
    bench::fill_random(input, 1, 0.0f, 1.0f);
    bench::fill_random(filter, 2);
    bench::fill_random(bias, 3);
    // Naive reference.
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            for (int c = 0; c < CO; c++) {
                double acc = bias(c);
                for (int ky = 0; ky < K; ky++) {
                    for (int kx = 0; kx < K; kx++) {
                        for (int ci = 0; ci < CI; ci++)
                            acc += (double)filter(c, ci, kx, ky) * input(ci, x + kx, y + ky, 0);
                    }
                }
                ref(c, x, y, 0) = (float)std::max(0.0, acc);
            }
        }
    }
    std::vector<bench::Variant> vs;
    std::vector<Buffer<float>> outs;
#define X(name, fn)                                                                                          \
    outs.emplace_back(CO, W, H, N);                                                                          \
    vs.push_back(                                                                                            \
        {#name, [&](Buffer<float> &out) { return bench::synced(out, fn(input, filter, bias, out)); }});
    VARIANT_LIST
#undef X
    std::vector<bool> ok = bench::check_all(vs, outs, ref, 1e-3);
    double flops = 2.0 * CO * CI * K * K * W * H * N;
    return bench::time_variants(APP_NAME, vs, ok, bench::timing_from_args(argc, argv), flops, outs.at(0));
}
