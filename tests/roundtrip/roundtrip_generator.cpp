// A pipeline with a stencil chain, a reduction and a histogram large enough to be rfactored, for the
// `.schedule.h` round trip: built once to be autoscheduled by HARL, and once with HARL_SCHEDULE_HEADER
// defined to apply the emitted schedule by hand. Both must lower to the same code.
#include "Halide.h"

#ifdef HARL_SCHEDULE_HEADER
#include HARL_SCHEDULE_HEADER
#endif

namespace {

using namespace Halide;

class RoundTrip : public Generator<RoundTrip> {
  public:
    Input<Buffer<uint8_t, 2>> input{"input"};
    Input<Buffer<float, 3>> weights{"weights"}; // (co, ci, k)
    Output<Buffer<float, 3>> output{"output"};  // (co, x, y)

    void generate() {
        Var x("x"), y("y"), c("c");
        Func clamped = BoundaryConditions::repeat_edge(input);
        Func as_float("as_float"), blur_x("blur_x"), blur_y("blur_y"), hist("hist"), feat("feat"), mix("mix");
        as_float(x, y) = cast<float>(clamped(x, y)) / 255.0f;
        blur_x(x, y) = (as_float(x - 1, y) + 2.0f * as_float(x, y) + as_float(x + 1, y)) * 0.25f;
        blur_y(x, y) = (blur_x(x, y - 1) + 2.0f * blur_x(x, y) + blur_x(x, y + 1)) * 0.25f;
        RDom h(0, 256, 0, 192);
        hist(x) = 0.0f;
        hist(cast<int>(input(h.x, h.y))) += 1.0f / (256 * 192);
        feat(c, x, y) = select(c == 0, blur_y(x, y), c == 1, as_float(x, y), hist(cast<int>(clamped(x, y))));
        RDom r(0, 3, -1, 3);
        mix(c, x, y) = 0.0f;
        mix(c, x, y) += weights(c, r.x, r.y + 1) * feat(r.x, x + r.y, y);
        output(c, x, y) = max(mix(c, x, y), 0.0f);

        input.set_estimates({{0, 256}, {0, 192}});
        weights.set_estimates({{0, 16}, {0, 3}, {0, 3}});
        output.set_estimates({{0, 16}, {0, 256}, {0, 192}});
#ifdef HARL_SCHEDULE_HEADER
        if (!auto_schedule) apply_schedule_rt(get_pipeline(), get_target());
#endif
    }
};

} // namespace

HALIDE_REGISTER_GENERATOR(RoundTrip, roundtrip)
