// Driver for gemm: SIZE from -D flags.
#include "bench_common.h"
#include "variants.h"

using Halide::Runtime::Buffer;

#ifdef HARL_CUBLAS
// cuBLAS's SGEMM on the same matrices, the GPU reference (apps/bench.py adds it for CUDA
// targets). Row-major C = A B is column-major C^T = B^T A^T, so B goes first.
#include <cublas_v2.h>
#include <cuda_runtime.h>

struct CublasGemm {
    int n;
    float *a = nullptr, *b = nullptr, *c = nullptr;
    cublasHandle_t handle = nullptr;
    bool ok = false;
    CublasGemm(const Buffer<float> &A, const Buffer<float> &B, int n) : n(n) {
        size_t bytes = sizeof(float) * n * n;
        ok = cudaMalloc(&a, bytes) == cudaSuccess && cudaMalloc(&b, bytes) == cudaSuccess &&
             cudaMalloc(&c, bytes) == cudaSuccess && cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS &&
             cudaMemcpy(a, A.data(), bytes, cudaMemcpyHostToDevice) == cudaSuccess &&
             cudaMemcpy(b, B.data(), bytes, cudaMemcpyHostToDevice) == cudaSuccess;
    }
    ~CublasGemm() {
        if (handle) cublasDestroy(handle);
        cudaFree(a), cudaFree(b), cudaFree(c);
    }
    // Runs SGEMM and waits for it; copies the result into `out` when asked (the check).
    int run(Buffer<float> *out) {
        const float one = 1.0f, zero = 0.0f;
        if (!ok ||
            cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, b, n, a, n, &zero, c, n) !=
                CUBLAS_STATUS_SUCCESS ||
            cudaDeviceSynchronize() != cudaSuccess) {
            return -1;
        }
        if (out && cudaMemcpy(out->data(), c, sizeof(float) * n * n, cudaMemcpyDeviceToHost) != cudaSuccess)
            return -1;
        return 0;
    }
};
#endif

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
    vs.push_back({#name, [&](Buffer<float> &out) { return bench::synced(out, fn(A, B, out)); }});
    VARIANT_LIST
#undef X
#ifdef HARL_CUBLAS
    CublasGemm cublas(A, B, N);
    outs.emplace_back(N, N);
    vs.push_back({"cublas", [&, first = true](Buffer<float> &out) mutable {
                      int e = cublas.run(first ? &out : nullptr); // only the check's call copies back
                      first = false;
                      return e;
                  }});
#endif
    std::vector<bool> ok = bench::check_all(vs, outs, ref, 1e-3);
    return bench::time_variants(APP_NAME, vs, ok, bench::timing_from_args(argc, argv), 2.0 * N * N * N,
                                outs.at(0));
}
