#include "Halide.h"

class Tiny : public Halide::Generator<Tiny> {
  public:
    Input<Buffer<float, 2>> input{"input"};
    Output<Buffer<float, 2>> output{"output"};
    void generate() {
        Halide::Var x("x"), y("y");
        Halide::Func blur_x("blur_x");
        blur_x(x, y) = input(x, y) + input(x + 1, y) + input(x + 2, y);
        output(x, y) = (blur_x(x, y) + blur_x(x, y + 1) + blur_x(x, y + 2)) / 9.0f;
        input.set_estimates({{0, 258}, {0, 258}});
        output.set_estimates({{0, 256}, {0, 256}});
    }
};

HALIDE_REGISTER_GENERATOR(Tiny, tiny)
