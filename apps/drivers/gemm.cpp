// Driver for gemm: SIZE from -D flags.
#include "bench_common.h"
#include "variants.h"

using Halide::Runtime::Buffer;

int main(int argc, char **argv) {
    const int N = SIZE;
    Buffer<float> A(N, N), B(N, N), ref(N, N);
    bench::fill_random(A, 1);
    bench::fill_random(B, 2);
    std::vector<double> row(N);
    for (int i = 0; i < N; i++) {
        std::fill(row.begin(), row.end(), 0.0);
        for (int k = 0; k < N; k++) {
            double a = A(k, i);
            const float *b = &B(0, k);
            for (int j = 0; j < N; j++)
                row[j] += a * b[j];
        }
        for (int j = 0; j < N; j++)
            ref(j, i) = (float)row[j];
    }
    std::vector<bench::Variant> vs;
    std::vector<Buffer<float>> outs;
#define X(name, fn)                                                                                          \
    outs.emplace_back(N, N);                                                                                 \
    vs.push_back({#name, [&, i = outs.size() - 1] { return bench::synced(outs[i], fn(A, B, outs[i])); }});
    VARIANT_LIST
#undef X
    std::vector<bool> ok = bench::check_all(vs, outs, ref, 1e-3);
    return bench::time_variants(APP_NAME, vs, ok, bench::rounds_from_args(argc, argv), 2.0 * N * N * N);
}
