// Random stacks of DNN layers (make_random_layers, declared in RandomPipeline.h). They are
// written the way Halide DNN code is written, which the general random pipelines are not:
// float tensors with channels innermost, a pre-padded input read without clamping, convolutions
// as a bias initialisation plus a reduction update, a separate activation stage, "same" padding
// as a zero boundary condition or "valid" convolutions that shrink the map. Channel counts and
// map sizes are drawn across the range of real networks (8-256 channels, 7-112 pixels), and the
// map is shrunk until the stack fits a compute budget. Some stacks end in a softmax over channels.
#include "RandomInput.h"
#include "RandomPipeline.h"

#include <algorithm>
#include <stdexcept>

namespace harl {

using namespace Halide;

namespace {

enum class LayerKind { Conv, Depthwise, Pool, Residual };

// One planned layer; sizes are resolved once the input's map size is known.
struct LayerPlan {
    LayerKind kind;
    int k = 1, stride = 1, out_channels = 0;
    bool same = false;    // zero padding keeps the map size; otherwise "valid" (shrinks by k - 1)
    bool max_pool = true; // Pool only
    int activation = 0;   // 0 none, 1 ReLU, 2 ReLU6 (Conv and Depthwise)
};

// A float tensor (c, x, y) of the stack.
struct Value {
    Func f;
    int c, w, h;
};

int out_extent(int in, const LayerPlan &l) {
    return l.same ? (in + l.stride - 1) / l.stride : (in - l.k) / l.stride + 1;
}

class LayerBuilder : public RandomTensorBuilder {
  public:
    LayerBuilder(uint64_t seed, bool embed) : RandomTensorBuilder(seed, 99, embed) {}

    int channels() {
        static const int choices[] = {8, 16, 24, 32, 48, 64, 96, 128, 192, 256};
        return choices[uniform(0, 9)];
    }

    LayerPlan plan(int in_channels, bool first) {
        LayerPlan l;
        const int d = uniform(0, 19);
        l.kind = d < 12   ? LayerKind::Conv
                 : d < 15 ? LayerKind::Depthwise
                 : d < 18 ? LayerKind::Pool
                          : LayerKind::Residual;
        if (first && l.kind == LayerKind::Residual) l.kind = LayerKind::Conv;
        l.out_channels = in_channels;
        if (l.kind == LayerKind::Conv) {
            const int kd = uniform(0, 19);
            l.k = kd < 7 ? 1 : kd < 18 ? 3 : 5;
            l.stride = l.k > 1 && coin(0.2) ? 2 : 1;
            l.out_channels = channels();
        } else if (l.kind == LayerKind::Depthwise) {
            l.k = 3;
            l.stride = coin(0.4) ? 2 : 1;
        } else if (l.kind == LayerKind::Pool) {
            l.k = coin(0.5) ? 2 : 3;
            l.stride = 2;
            l.max_pool = coin(0.6);
        }
        l.same = l.kind != LayerKind::Pool && l.k > 1 && coin(0.5);
        l.activation = l.kind == LayerKind::Pool ? 0 : l.kind == LayerKind::Residual ? 1 : uniform(0, 2);
        return l;
    }
};

std::string kind_name(const LayerPlan &l) {
    const std::string k = std::to_string(l.k);
    switch (l.kind) {
    case LayerKind::Conv:
        return "conv" + k + "x" + k + (l.stride > 1 ? "_s2" : "");
    case LayerKind::Depthwise:
        return std::string("depthwise") + (l.stride > 1 ? "_s2" : "");
    case LayerKind::Pool:
        return std::string(l.max_pool ? "maxpool" : "avgpool") + k + "x" + k;
    case LayerKind::Residual:
        return "residual";
    }
    return "?";
}

} // namespace

RandomPipeline make_random_layers(uint64_t seed, double max_mflops, bool embed_inputs) {
    if (!(max_mflops > 0)) throw std::invalid_argument("make_random_layers: max_mflops must be positive");
    LayerBuilder b(seed, embed_inputs);
    RandomPipeline rp;
    Var c("c"), x("x"), y("y");

    // Plan the stack, then pick the largest map (up to the drawn one) that fits the budget.
    const int count = std::vector<int>{1, 1, 2, 2, 3}[b.uniform(0, 4)];
    const int c0 = b.channels();
    std::vector<LayerPlan> plans;
    double flops_per_pixel = 0, area = 1; // per pixel of the first layer's output map
    for (int i = 0, ci = c0; i < count; i++) {
        plans.push_back(b.plan(ci, i == 0));
        const LayerPlan &l = plans.back();
        if (i > 0) area /= l.stride * l.stride;
        const double macs = l.kind == LayerKind::Conv ? (double)l.out_channels * ci * l.k * l.k
                                                      : (double)l.out_channels * l.k * l.k;
        flops_per_pixel += 2 * macs * area;
        ci = l.out_channels;
    }
    int w = b.uniform(7, 112), h = std::max(7, (int)(w * (0.75 + 0.5 * b.uniform(0, 100) / 100.0)));
    int min_side = 4; // the first layer's output map that leaves the last one 4 pixels wide
    for (size_t i = plans.size() - 1; i > 0; i--)
        min_side = plans[i].same ? min_side * plans[i].stride : (min_side - 1) * plans[i].stride + plans[i].k;
    while ((double)w * h * flops_per_pixel > max_mflops * 1e6 && std::min(w, h) > std::max(7, min_side)) {
        w = std::max(min_side, w * 7 / 8);
        h = std::max(min_side, h * 7 / 8);
    }
    w = std::max(w, min_side);
    h = std::max(h, min_side);

    // The first layer reads a pre-padded input: exactly the region its output map needs.
    const LayerPlan &first = plans[0];
    const int in_w = first.stride * (w - 1) + first.k, in_h = first.stride * (h - 1) + first.k;
    RandomInput in = b.input({c0, in_w, in_h}, &rp);
    Func input_view("input_view");
    input_view(c, x, y) = in.at_unclamped({c, x, y});
    std::vector<Value> values = {{input_view, c0, in_w, in_h}};

    for (size_t i = 0; i < plans.size(); i++) {
        const LayerPlan &l = plans[i];
        const Value &src = values.back();
        // Where the layer reads its source: the first layer's input is padded already, later
        // "same" layers pad with zeros (offset k/2), "valid" ones read inside the map.
        Func padded = src.f;
        int offset = 0;
        if (i > 0 && l.same) {
            padded = BoundaryConditions::constant_exterior(src.f, 0.0f, {{0, src.c}, {0, src.w}, {0, src.h}});
            offset = l.k / 2;
        }
        const int ow = i == 0 ? w : out_extent(src.w, l), oh = i == 0 ? h : out_extent(src.h, l);
        const std::string kind = kind_name(l);
        Func f = b.func(kind);
        Expr sx = l.stride * x - offset, sy = l.stride * y - offset;
        if (l.kind == LayerKind::Conv) {
            RandomInput wt = b.input({l.out_channels, src.c, l.k, l.k}, &rp);
            RandomInput bias = b.input({l.out_channels}, &rp);
            RDom r(0, src.c, 0, l.k, 0, l.k);
            f(c, x, y) = bias.at_unclamped({c});
            f(c, x, y) += wt.at_unclamped({c, r.x, r.y, r.z}) * padded(r.x, sx + r.y, sy + r.z);
        } else if (l.kind == LayerKind::Depthwise) {
            RandomInput wt = b.input({src.c, l.k, l.k}, &rp);
            RandomInput bias = b.input({src.c}, &rp);
            RDom r(0, l.k, 0, l.k);
            f(c, x, y) = bias.at_unclamped({c});
            f(c, x, y) += wt.at_unclamped({c, r.x, r.y}) * padded(c, sx + r.x, sy + r.y);
        } else if (l.kind == LayerKind::Pool) {
            RDom r(0, l.k, 0, l.k);
            Expr v = padded(c, sx + r.x, sy + r.y);
            if (l.max_pool)
                f(c, x, y) = maximum(v);
            else
                f(c, x, y) = sum(v) * (1.0f / (l.k * l.k));
        } else { // residual: add an earlier value of the same shape, or a 1x1 projection of it
            std::vector<const Value *> same_shape;
            for (size_t v = 0; v + 1 < values.size(); v++)
                if (values[v].c == src.c && values[v].w == src.w && values[v].h == src.h)
                    same_shape.push_back(&values[v]);
            const Value &skip = same_shape.empty() ? values[b.uniform(0, (int)values.size() - 1)]
                                                   : *same_shape[b.uniform(0, (int)same_shape.size() - 1)];
            Expr other = skip.f(c % skip.c, clamp(x, 0, skip.w - 1), clamp(y, 0, skip.h - 1));
            f(c, x, y) = src.f(c, x, y) + other;
        }
        Value out{f, l.out_channels, ow, oh};
        rp.stage_kinds.push_back(kind);
        if (l.activation > 0) {
            Func a = b.func(l.activation == 1 ? "relu" : "relu6");
            a(c, x, y) = l.activation == 1 ? max(f(c, x, y), 0.0f) : clamp(f(c, x, y), 0.0f, 6.0f);
            out.f = a;
            rp.stage_kinds.push_back(l.activation == 1 ? "relu" : "relu6");
        }
        values.push_back(out);
    }
    // A quarter of the stacks end in a softmax over channels (a classifier's or a segmentation
    // network's head): a max and a sum reduction over each pixel's channels around an exp. Drawn
    // last, so the layers above are the same with or without it.
    if (b.coin(0.25)) {
        const Value src = values.back();
        Func mx = b.func("softmax_max"), e = b.func("softmax_exp"), sm = b.func("softmax_sum");
        Func f = b.func("softmax");
        RDom r(0, src.c);
        mx(x, y) = maximum(src.f(r, x, y));
        e(c, x, y) = exp(src.f(c, x, y) - mx(x, y));
        sm(x, y) = sum(e(r, x, y));
        f(c, x, y) = e(c, x, y) / sm(x, y);
        rp.stage_kinds.push_back("softmax");
        values.push_back({f, src.c, src.w, src.h});
    }
    const Value &last = values.back();
    Func output("layers_output");
    output(c, x, y) = last.f(c, x, y);
    output.set_estimates({{0, last.c}, {0, last.w}, {0, last.h}});
    rp.output = output;
    rp.output_size = {last.c, last.w, last.h};
    return rp;
}

} // namespace harl
