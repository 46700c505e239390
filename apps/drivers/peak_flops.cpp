// Measures this machine's peak single-precision FLOP/s: independent FMA chains on every core
// (AVX-512 where the compiler targets it, as Halide's x86 targets with avx512 do; else AVX2+FMA;
// else NEON/scalar), best of several trials. Prints GFLOP/s. Built with -march=native, so the
// widest vectors this machine has are the ones measured: where 512-bit FMAs run at full width
// (AMD Zen 5, Intel server cores), AVX2 alone would measure half the peak that the apps reach.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>
#if (defined(__AVX2__) && defined(__FMA__)) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#if (defined(__AVX2__) && defined(__FMA__)) || defined(__AVX512F__)
// Twelve independent FMA chains of vectors V in named registers: enough to cover FMA latency on
// two ports. `set1`, `fma`, `add` and `lane0` are the vector width's intrinsics.
template <typename V, typename Set1, typename Fma, typename Add, typename Lane0>
static double fma_chains(long iters, int lanes, Set1 set1, Fma fma, Add add, Lane0 lane0) {
    const V b = set1(0.999999f), c = set1(1e-7f);
    V a0 = set1(0), a1 = set1(1), a2 = set1(2), a3 = set1(3), a4 = set1(4), a5 = set1(5);
    V a6 = set1(6), a7 = set1(7), a8 = set1(8), a9 = set1(9), a10 = set1(10), a11 = set1(11);
    for (long it = 0; it < iters; it++) {
        a0 = fma(a0, b, c), a1 = fma(a1, b, c), a2 = fma(a2, b, c), a3 = fma(a3, b, c);
        a4 = fma(a4, b, c), a5 = fma(a5, b, c), a6 = fma(a6, b, c), a7 = fma(a7, b, c);
        a8 = fma(a8, b, c), a9 = fma(a9, b, c), a10 = fma(a10, b, c), a11 = fma(a11, b, c);
    }
    V s = add(add(add(a0, a1), add(a2, a3)), add(add(a4, a5), add(a6, a7)));
    s = add(s, add(add(a8, a9), add(a10, a11)));
    if (lane0(s) == 12345.f) std::puts("");
    return (double)iters * 12 * lanes * 2;
}
#endif

static double kernel(long iters) {
#if defined(__AVX512F__)
    return fma_chains<__m512>(
        iters, 16, [](float x) { return _mm512_set1_ps(x); },
        [](__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); },
        [](__m512 a, __m512 b) { return _mm512_add_ps(a, b); }, [](__m512 v) { return _mm512_cvtss_f32(v); });
#elif defined(__AVX2__) && defined(__FMA__)
    return fma_chains<__m256>(
        iters, 8, [](float x) { return _mm256_set1_ps(x); },
        [](__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); },
        [](__m256 a, __m256 b) { return _mm256_add_ps(a, b); }, [](__m256 v) { return _mm256_cvtss_f32(v); });
#else
    float a[32], b = 0.999999f, c = 1e-7f;
    for (int i = 0; i < 32; i++)
        a[i] = (float)i;
    for (long it = 0; it < iters; it++) {
        for (int i = 0; i < 32; i++)
            a[i] = a[i] * b + c;
    }
    float s = 0;
    for (int i = 0; i < 32; i++)
        s += a[i];
    if (s == 12345.f) std::puts("");
    return (double)iters * 32 * 2;
#endif
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? std::atoi(argv[1]) : (int)std::thread::hardware_concurrency();
    double best = 0;
    for (int trial = 0; trial < 10; trial++) {
        std::vector<std::thread> ts;
        std::vector<double> flops(threads);
        auto t0 = std::chrono::steady_clock::now();
        for (int t = 0; t < threads; t++)
            ts.emplace_back([&, t] { flops[t] = kernel(20000000); });
        for (auto &t : ts)
            t.join();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double total = 0;
        for (double f : flops)
            total += f;
        best = std::max(best, total / s / 1e9);
    }
    std::printf("%.2f\n", best);
    return 0;
}
