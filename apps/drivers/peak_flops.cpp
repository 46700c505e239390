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

static double kernel(long iters) {
#if defined(__AVX512F__)
    // Twelve independent chains of 16 lanes, as below.
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3);
    __m512 a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7);
    __m512 a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    for (long it = 0; it < iters; it++) {
        a0 = _mm512_fmadd_ps(a0, b, c), a1 = _mm512_fmadd_ps(a1, b, c), a2 = _mm512_fmadd_ps(a2, b, c);
        a3 = _mm512_fmadd_ps(a3, b, c), a4 = _mm512_fmadd_ps(a4, b, c), a5 = _mm512_fmadd_ps(a5, b, c);
        a6 = _mm512_fmadd_ps(a6, b, c), a7 = _mm512_fmadd_ps(a7, b, c), a8 = _mm512_fmadd_ps(a8, b, c);
        a9 = _mm512_fmadd_ps(a9, b, c), a10 = _mm512_fmadd_ps(a10, b, c), a11 = _mm512_fmadd_ps(a11, b, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    if (_mm512_reduce_add_ps(s) == 12345.f) std::puts("");
    return (double)iters * 12 * 16 * 2;
#elif defined(__AVX2__) && defined(__FMA__)
    // Twelve independent chains in named registers: enough to cover FMA latency on two ports.
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3);
    __m256 a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7);
    __m256 a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (long it = 0; it < iters; it++) {
        a0 = _mm256_fmadd_ps(a0, b, c), a1 = _mm256_fmadd_ps(a1, b, c), a2 = _mm256_fmadd_ps(a2, b, c);
        a3 = _mm256_fmadd_ps(a3, b, c), a4 = _mm256_fmadd_ps(a4, b, c), a5 = _mm256_fmadd_ps(a5, b, c);
        a6 = _mm256_fmadd_ps(a6, b, c), a7 = _mm256_fmadd_ps(a7, b, c), a8 = _mm256_fmadd_ps(a8, b, c);
        a9 = _mm256_fmadd_ps(a9, b, c), a10 = _mm256_fmadd_ps(a10, b, c), a11 = _mm256_fmadd_ps(a11, b, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    if (out[0] == 12345.f) std::puts("");
    return (double)iters * 12 * 8 * 2;
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
