// maxpool: ResNet-50 3x3 stride-2 max-pool, 112x112x64 -> 56x56x64 (pre-padded input).
// softmax: row softmax over 4096 rows x 1000 classes.
#include "Halide.h"

namespace {

using namespace Halide;

class MaxPool : public Halide::Generator<MaxPool> {
  public:
    GeneratorParam<int> channels{"channels", 64};
    GeneratorParam<int> width{"width", 56};
    GeneratorParam<int> height{"height", 56};
    Input<Buffer<float, 4>> input{"input"};    // (c, x, y, n)
    Output<Buffer<float, 4>> output{"output"}; // (c, x, y, n)

    void generate() {
        const int C = channels, W = width, H = height;
        RDom r(0, 3, 0, 3);
        output(c, x, y, n) = maximum(input(c, 2 * x + r.x, 2 * y + r.y, n));
        input.set_estimates({{0, C}, {0, 2 * W + 1}, {0, 2 * H + 1}, {0, 1}});
        output.set_estimates({{0, C}, {0, W}, {0, H}, {0, 1}});
        if (!auto_schedule) {
            const int vec = natural_vector_size<float>();
            Var co("co"), ci("ci");
            output.split(c, co, ci, vec).reorder(ci, co, x, y, n).vectorize(ci).parallel(y);
        }
    }

  private:
    Var c{"c"}, x{"x"}, y{"y"}, n{"n"};
};

class Softmax : public Halide::Generator<Softmax> {
  public:
    GeneratorParam<int> rows{"rows", 4096};
    GeneratorParam<int> classes{"classes", 1000};
    Input<Buffer<float, 2>> input{"input"}; // (class, row)
    Output<Buffer<float, 2>> output{"output"};

    void generate() {
        const int R = rows, K = classes;
        RDom r(0, K);
        row_max(y) = maximum(input(r, y));
        e(x, y) = exp(input(x, y) - row_max(y));
        row_sum(y) = sum(e(r, y));
        output(x, y) = e(x, y) / row_sum(y);
        input.set_estimates({{0, K}, {0, R}});
        output.set_estimates({{0, K}, {0, R}});
        if (!auto_schedule) {
            const int vec = natural_vector_size<float>();
            Var yo("yo"), yi("yi");
            output.split(y, yo, yi, 16).parallel(yo).vectorize(x, vec);
            e.compute_at(output, yi).vectorize(x, vec);
            row_max.compute_at(output, yi);
            row_sum.compute_at(output, yi);
        }
    }

  private:
    Var x{"x"}, y{"y"};
    Func row_max{"row_max"}, e{"e"}, row_sum{"row_sum"};
};

} // namespace

HALIDE_REGISTER_GENERATOR(MaxPool, maxpool)
HALIDE_REGISTER_GENERATOR(Softmax, softmax)
