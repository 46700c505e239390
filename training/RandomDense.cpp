// Random dense blocks (make_random_dense, declared in RandomPipeline.h): the matrix layers of
// MLPs, transformers and classifier heads, which neither the general pipelines nor the
// convolution stacks cover. Tensors are float (feature, row) with features innermost, as GEMM
// and attention code stores them. Blocks: a linear layer (a reduction over every input feature,
// with its weights stored either way round, an optional bias and a ReLU, GELU or SiLU), a
// softmax over each row's features, a layer norm, and a residual addition. Feature counts and
// row counts are drawn log-uniformly over the range of real networks (8-4096 features, 1-16384
// rows), so reductions run up to 4,096 long and tensors up to 64 MB stream from DRAM; rows
// shrink until the block fits the compute budget.
#include "RandomInput.h"
#include "RandomPipeline.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace harl {

using namespace Halide;

namespace {

enum class DenseKind { Linear, Softmax, LayerNorm, Residual };

struct DensePlan {
    DenseKind kind;
    int out_features = 0;
    bool weights_out_inner = true; // Linear: W(out, in) with out innermost, else W(in, out)
    bool bias = true;
    int activation = 0; // Linear: 0 none, 1 ReLU, 2 GELU (tanh form), 3 SiLU
};

// A float tensor (feature, row) of the block.
struct Tensor {
    Func f;
    int features;
};

class DenseBuilder : public RandomTensorBuilder {
  public:
    DenseBuilder(uint64_t seed, bool embed) : RandomTensorBuilder(seed, 4242, embed) {}

    // Log-uniform in [lo, hi]; three in four rounded to a multiple of 8, as layer widths are.
    int log_uniform(int lo, int hi) {
        const double v =
            std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi + 1.0))(rng_));
        int n = std::min(hi, std::max(lo, (int)v));
        if (coin(0.75) && n >= 8) n = n / 8 * 8;
        return n;
    }

    DensePlan plan(bool first, bool same_shape_earlier) {
        DensePlan p;
        const int d = uniform(0, 19);
        p.kind = d < 11   ? DenseKind::Linear
                 : d < 14 ? DenseKind::Softmax
                 : d < 17 ? DenseKind::LayerNorm
                          : DenseKind::Residual;
        if (p.kind == DenseKind::Residual && (first || !same_shape_earlier)) p.kind = DenseKind::Linear;
        if (p.kind == DenseKind::Linear) {
            p.out_features = log_uniform(8, 4096);
            p.weights_out_inner = coin(0.5);
            p.bias = coin(0.7);
            p.activation = uniform(0, 3);
        }
        return p;
    }
};

const char *kind_name(const DensePlan &p) {
    switch (p.kind) {
    case DenseKind::Linear:
        return "linear";
    case DenseKind::Softmax:
        return "softmax";
    case DenseKind::LayerNorm:
        return "layernorm";
    case DenseKind::Residual:
        return "residual";
    }
    return "?";
}

const char *activation_name(int activation) {
    return activation == 1 ? "relu" : activation == 2 ? "gelu" : "silu";
}

Expr activate(Expr v, int activation) {
    switch (activation) {
    case 1:
        return max(v, 0.0f);
    case 2:
        return 0.5f * v * (1.0f + tanh(0.7978846f * (v + 0.044715f * v * v * v)));
    case 3:
        return v / (1.0f + exp(-v));
    default:
        return v;
    }
}

} // namespace

RandomPipeline make_random_dense(uint64_t seed, double max_mflops, bool embed_inputs) {
    if (!(max_mflops > 0)) throw std::invalid_argument("make_random_dense: max_mflops must be positive");
    DenseBuilder b(seed, embed_inputs);
    RandomPipeline rp;
    Var f("f"), r("r");

    // Plan the blocks over the feature counts, then shrink the rows to fit the budget: a
    // linear layer costs 2 flops per weight and row, the others a few per element.
    const int count = std::vector<int>{1, 1, 2, 2, 3}[b.uniform(0, 4)];
    const int f0 = b.log_uniform(8, 4096);
    std::vector<DensePlan> plans;
    std::vector<int> widths = {f0};
    double flops_per_row = 0, widest = f0;
    for (int i = 0; i < count; i++) {
        const bool same_shape = std::count(widths.begin(), widths.end() - 1, widths.back()) > 0;
        plans.push_back(b.plan(i == 0, same_shape));
        const DensePlan &p = plans.back();
        const int in = widths.back(), out = p.kind == DenseKind::Linear ? p.out_features : in;
        flops_per_row += p.kind == DenseKind::Linear ? 2.0 * in * out + 8.0 * out : 8.0 * in;
        widths.push_back(out);
        widest = std::max(widest, (double)out);
    }
    int rows = b.log_uniform(1, 16384);
    const double max_elements = 16 << 20; // 64 MB of floats per tensor
    while (rows > 1 && (rows * flops_per_row > max_mflops * 1e6 || rows * widest > max_elements))
        rows = std::max(1, rows * 7 / 8);

    RandomInput in = b.input({f0, rows}, &rp);
    Func input_view("input_view");
    input_view(f, r) = in.at_unclamped({f, r});
    std::vector<Tensor> values = {{input_view, f0}};

    for (const DensePlan &p : plans) {
        const Tensor src = values.back();
        Func out = b.func(kind_name(p));
        int width = src.features;
        if (p.kind == DenseKind::Linear) {
            width = p.out_features;
            RandomInput w = p.weights_out_inner ? b.input({width, src.features}, &rp)
                                                : b.input({src.features, width}, &rp);
            RDom k(0, src.features);
            if (p.bias) {
                RandomInput bias = b.input({width}, &rp);
                out(f, r) = bias.at_unclamped({f});
            } else {
                out(f, r) = 0.0f;
            }
            Expr weight = p.weights_out_inner ? w.at_unclamped({f, k}) : w.at_unclamped({k, f});
            out(f, r) += weight * src.f(k, r);
            if (p.activation > 0) { // a separate stage, named in stage_kinds below
                rp.stage_kinds.push_back("linear");
                Func a = b.func(activation_name(p.activation));
                a(f, r) = activate(out(f, r), p.activation);
                out = a;
            }
        } else if (p.kind == DenseKind::Softmax) {
            Func mx = b.func("softmax_max"), e = b.func("softmax_exp"), sm = b.func("softmax_sum");
            RDom k(0, src.features);
            mx(r) = maximum(src.f(k, r));
            e(f, r) = exp(src.f(f, r) - mx(r));
            sm(r) = sum(e(k, r));
            out(f, r) = e(f, r) / sm(r);
        } else if (p.kind == DenseKind::LayerNorm) {
            Func mean = b.func("layernorm_mean"), var = b.func("layernorm_var");
            RDom k(0, src.features);
            const float inv = 1.0f / src.features;
            mean(r) = sum(src.f(k, r)) * inv;
            Expr centred = src.f(k, r) - mean(r);
            var(r) = sum(centred * centred) * inv;
            RandomInput gamma = b.input({src.features}, &rp), beta = b.input({src.features}, &rp);
            out(f, r) = (src.f(f, r) - mean(r)) / sqrt(var(r) + 1e-5f) * gamma.at_unclamped({f}) +
                        beta.at_unclamped({f});
        } else { // residual: add the latest earlier tensor of the same width
            const Tensor *skip = nullptr;
            for (size_t v = 0; v + 1 < values.size(); v++)
                if (values[v].features == src.features) skip = &values[v];
            if (!skip)
                throw std::logic_error("make_random_dense: a residual block without a same-width tensor");
            out(f, r) = src.f(f, r) + skip->f(f, r);
        }
        rp.stage_kinds.push_back(p.activation > 0 ? activation_name(p.activation) : kind_name(p));
        values.push_back({out, width});
    }
    const Tensor &last = values.back();
    Func output("dense_output");
    output(f, r) = last.f(f, r);
    output.set_estimates({{0, last.features}, {0, rows}});
    rp.output = output;
    rp.output_size = {last.features, rows};
    return rp;
}

} // namespace harl
