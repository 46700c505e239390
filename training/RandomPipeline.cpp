#include "RandomPipeline.h"
#include "RandomInput.h"

#include <algorithm>
#include <random>
#include <stdexcept>

namespace harl {

using namespace Halide;

namespace {

using Input = RandomInput;

// A tensor value of the pipeline: (c, x, y) with its sizes and element type.
struct Tensor {
    Func f;
    int c, w, h;
    Type type;
};

class Builder {
  public:
    Builder(uint64_t seed, int scale, bool embed)
        : rng_(seed * 0x2545F4914F6CDD1Dull + 7), scale_(scale), embed_(embed) {}

    int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool coin(double p = 0.5) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

    Input input(Type t, std::vector<int> sizes, RandomPipeline *rp) {
        return make_random_input("in" + std::to_string(counter_inputs_++), t, sizes, embed_, rng_, rp);
    }

    Expr as_float(const Tensor &t, Expr c, Expr x, Expr y) {
        Expr v = t.f(c, x, y);
        return t.type.is_float() ? v : cast<float>(v) / 256.0f;
    }

    // A fresh Func with a unique name.
    Func func(const std::string &kind) { return Func(kind + "_" + std::to_string(counter_++)); }

    std::mt19937_64 rng_;
    int scale_;
    bool embed_;
    int counter_ = 0, counter_inputs_ = 0;
    Var c{"c"}, x{"x"}, y{"y"};
};

} // namespace

RandomPipeline make_random_pipeline(uint64_t seed, int min_stages, int max_stages, int scale,
                                    bool embed_inputs, int channel_scale) {
    if (scale < 1 || channel_scale < 1)
        throw std::invalid_argument("make_random_pipeline: scale and channel_scale must be at least 1");
    Builder b(seed, scale, embed_inputs);
    RandomPipeline rp;
    Var c = b.c, x = b.x, y = b.y;
    const int stages = b.uniform(min_stages, max_stages);
    int C = b.uniform(1, 4) * 4 * channel_scale, W = b.uniform(12, 40) * scale, H = b.uniform(10, 32) * scale;
    Type in_type = b.coin(0.6) ? Float(32) : (b.coin() ? UInt(8) : UInt(16));
    Input in = b.input(in_type, {C, W, H}, &rp);
    Func in_f("input_view");
    in_f(c, x, y) = in(c, x, y);
    std::vector<Tensor> values = {{in_f, C, W, H, in_type}};

    for (int s = 0; s < stages; s++) {
        Tensor t = values.back();
        // Sometimes take an older value, so Funcs get several consumers.
        if (values.size() > 2 && b.coin(0.25)) t = values[b.uniform(0, (int)values.size() - 2)];
        Func clamped = BoundaryConditions::repeat_edge(t.f, {{0, t.c}, {0, t.w}, {0, t.h}});
        Tensor out = t;
        out.type = Float(32);
        std::string kind;
        int op = b.uniform(0, 13);
        if ((op == 3 || op == 6) && (t.w < 8 || t.h < 8)) op = 0; // no downsampling of tiny maps
        if (op == 7 && t.w * t.h > 4096 * scale * scale) op = 1;  // no upsampling of large maps
        switch (op) {
        case 0: { // activation
            kind = "activation";
            Func f = b.func(kind);
            Expr v = b.as_float(t, c, x, y);
            int a = b.uniform(0, 2);
            f(c, x, y) = a == 0 ? max(v, 0.0f) : a == 1 ? 1.0f / (1.0f + exp(-v)) : tanh(v);
            out.f = f;
            break;
        }
        case 1: { // element-wise over two values
            kind = "elementwise";
            const Tensor &u = values[b.uniform(0, (int)values.size() - 1)];
            Func f = b.func(kind);
            Func uc = BoundaryConditions::repeat_edge(u.f, {{0, u.c}, {0, u.w}, {0, u.h}});
            Expr other =
                u.type.is_float() ? Expr(uc(c % u.c, x, y)) : cast<float>(uc(c % u.c, x, y)) / 256.0f;
            f(c, x, y) = b.as_float(t, c, x, y) * 0.5f + other * (b.coin() ? 0.25f : -0.75f);
            out.f = f;
            break;
        }
        case 2:
        case 8: { // convolution: regular, dilated or 1x1
            int k = b.coin(0.3) ? 1 : 3, dil = (k == 3 && b.coin(0.25)) ? 2 : 1;
            int co = b.uniform(1, 4) * 4 * channel_scale;
            kind = k == 1 ? "conv1x1" : dil > 1 ? "conv_dilated" : "conv3x3";
            Input w = b.input(Float(32), {co, t.c, k, k}, &rp);
            Func f = b.func(kind);
            RDom r(0, t.c, 0, k, 0, k);
            Expr v = clamped(r.x, x + (r.y - k / 2) * dil, y + (r.z - k / 2) * dil);
            if (!t.type.is_float()) v = cast<float>(v) / 256.0f;
            f(c, x, y) = 0.0f;
            f(c, x, y) += w(c, r.x, r.y, r.z) * v;
            out.f = f;
            out.c = co;
            break;
        }
        case 3: { // strided convolution
            kind = "conv_strided";
            int co = b.uniform(1, 4) * 4 * channel_scale;
            Input w = b.input(Float(32), {co, t.c, 3, 3}, &rp);
            Func f = b.func(kind);
            RDom r(0, t.c, 0, 3, 0, 3);
            Expr v = clamped(r.x, 2 * x + r.y - 1, 2 * y + r.z - 1);
            if (!t.type.is_float()) v = cast<float>(v) / 256.0f;
            f(c, x, y) = 0.0f;
            f(c, x, y) += w(c, r.x, r.y, r.z) * v;
            out = {f, co, t.w / 2, t.h / 2, Float(32)};
            break;
        }
        case 4: { // depthwise
            kind = "depthwise";
            Input w = b.input(Float(32), {t.c, 3, 3}, &rp);
            Func f = b.func(kind);
            RDom r(0, 3, 0, 3);
            Expr v = clamped(c, x + r.x - 1, y + r.y - 1);
            if (!t.type.is_float()) v = cast<float>(v) / 256.0f;
            f(c, x, y) = 0.0f;
            f(c, x, y) += w(c, r.x, r.y) * v;
            out.f = f;
            break;
        }
        case 5: { // separable blur, in the value's own type
            kind = "blur";
            Func bx = b.func("blur_x"), by = b.func(kind);
            if (t.type.is_float()) {
                bx(c, x, y) = (clamped(c, x - 1, y) + 2.0f * clamped(c, x, y) + clamped(c, x + 1, y)) * 0.25f;
                by(c, x, y) = (bx(c, x, y - 1) + 2.0f * bx(c, x, y) + bx(c, x, y + 1)) * 0.25f;
            } else {
                Type wide = t.type.bits() == 8 ? UInt(16) : Int(32);
                bx(c, x, y) = cast(wide, clamped(c, x - 1, y)) + 2 * cast(wide, clamped(c, x, y)) +
                              cast(wide, clamped(c, x + 1, y));
                by(c, x, y) = cast(t.type, (bx(c, x, y - 1) + 2 * bx(c, x, y) + bx(c, x, y + 1)) / 16);
                out.type = t.type;
            }
            out.f = by;
            break;
        }
        case 6: { // pooling
            bool mx = b.coin();
            kind = mx ? "maxpool" : "avgpool";
            Func f = b.func(kind);
            RDom r(0, 2, 0, 2);
            Expr v = b.as_float(t, c, 2 * x + r.x, 2 * y + r.y);
            if (mx)
                f(c, x, y) = maximum(v);
            else
                f(c, x, y) = sum(v) * 0.25f;
            out = {f, t.c, t.w / 2, t.h / 2, Float(32)};
            break;
        }
        case 7: { // nearest or linear upsampling
            kind = "upsample";
            Func f = b.func(kind);
            if (b.coin()) {
                f(c, x, y) = b.as_float(t, c, x / 2, y / 2);
            } else {
                Func cf = b.func("up_src");
                cf(c, x, y) = b.as_float(t, c, x, y);
                Func cc = BoundaryConditions::repeat_edge(cf, {{0, t.c}, {0, t.w}, {0, t.h}});
                f(c, x, y) = (cc(c, x / 2, y / 2) + cc(c, (x + 1) / 2, (y + 1) / 2)) * 0.5f;
            }
            out = {f, t.c, t.w * 2, t.h * 2, Float(32)};
            break;
        }
        case 9: { // reduction over channels
            kind = "channel_reduction";
            Func f = b.func(kind);
            RDom r(0, t.c);
            f(c, x, y) = sum(b.as_float(t, r, x, y)) * (1.0f / t.c);
            out.f = f;
            out.c = 1;
            break;
        }
        case 10: { // scan along x
            kind = "scan";
            Func f = b.func(kind);
            RDom r(1, t.w - 1);
            f(c, x, y) = b.as_float(t, c, x, y);
            f(c, r, y) = f(c, r - 1, y) * 0.5f + b.as_float(t, c, r, y);
            out.f = f;
            break;
        }
        case 11: { // histogram of a quantised channel, then a lookup
            kind = "histogram";
            Func q = b.func("quantize"), hist = b.func("hist"), f = b.func(kind);
            q(c, x, y) = cast<uint8_t>(clamp(b.as_float(t, c, x, y) * 64.0f + 128.0f, 0.0f, 255.0f));
            RDom r(0, t.w, 0, t.h);
            hist(x) = 0;
            hist(cast<int>(q(0, r.x, r.y))) += 1;
            f(c, x, y) = cast<float>(hist(cast<int>(q(c, x, y)))) / (float)(t.w * t.h);
            out.f = f;
            break;
        }
        case 12: { // quantise to a narrow integer type
            Type nt = b.coin() ? UInt(8) : Int(16);
            kind = nt == UInt(8) ? "to_uint8" : "to_int16";
            Func f = b.func(kind);
            Expr v = b.as_float(t, c, x, y) * 64.0f + (nt == UInt(8) ? 128.0f : 0.0f);
            f(c, x, y) = cast(nt, clamp(v, nt.min(), nt.max()));
            out.f = f;
            out.type = nt;
            break;
        }
        default: { // channel-mixing matmul with a bias
            kind = "matmul";
            int co = b.uniform(1, 6) * 2 * channel_scale;
            Input w = b.input(Float(32), {co, t.c}, &rp);
            Input bias = b.input(Float(32), {co}, &rp);
            Func f = b.func(kind);
            RDom r(0, t.c);
            f(c, x, y) = bias(c);
            f(c, x, y) += w(c, r) * b.as_float(t, r, x, y);
            out.f = f;
            out.c = co;
        }
        }
        rp.stage_kinds.push_back(kind);
        values.push_back(out);
    }
    const Tensor &last = values.back();
    Func output("random_output");
    output(c, x, y) = b.as_float(last, c, x, y);
    output.set_estimates({{0, last.c}, {0, last.w}, {0, last.h}});
    rp.output = output;
    rp.output_size = {last.c, last.w, last.h};
    return rp;
}

} // namespace harl
