// GEMM: C = A * B, float, 1024 x 1024 x 1024 (C(j, i) = sum_k A(k, i) * B(j, k), row-major).
#include "Halide.h"

namespace {

using namespace Halide;

class Gemm : public Halide::Generator<Gemm> {
  public:
    GeneratorParam<int> size{"size", 1024};
    Input<Buffer<float, 2>> A{"A"};  // (k, i)
    Input<Buffer<float, 2>> B{"B"};  // (j, k)
    Output<Buffer<float, 2>> C{"C"}; // (j, i)

    void generate() {
        const int N = size;
        RDom k(0, N);
        prod(j, i) = 0.0f;
        prod(j, i) += A(k, i) * B(j, k);
        C(j, i) = prod(j, i);

        A.set_estimates({{0, N}, {0, N}});
        B.set_estimates({{0, N}, {0, N}});
        C.set_estimates({{0, N}, {0, N}});

        if (!auto_schedule) {
            // 2 vectors x 6 rows of accumulators in registers; k innermost over the block,
            // row blocks of 6 in parallel, B panel reused from L1/L2.
            const int vec = natural_vector_size<float>();
            Var jo("jo"), ji("ji"), io("io"), ii("ii"), jii("jii");
            C.tile(j, i, jo, io, ji, ii, 2 * vec, 6, TailStrategy::GuardWithIf)
                .reorder(ji, ii, jo, io)
                .vectorize(ji, vec)
                .unroll(ji)
                .unroll(ii)
                .parallel(io);
            prod.compute_at(C, jo).vectorize(j, vec).unroll(j).unroll(i);
            prod.update().reorder(j, i, k).vectorize(j, vec).unroll(j).unroll(i);
        }
    }

  private:
    Var j{"j"}, i{"i"};
    Func prod{"prod"};
};

} // namespace

HALIDE_REGISTER_GENERATOR(Gemm, gemm)
