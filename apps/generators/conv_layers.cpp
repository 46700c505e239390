// Convolution layers with real network shapes (batch 1, channels innermost, pre-padded input):
//   conv3x3:   ResNet-50 conv2_x 3x3 convolution + bias + ReLU, 56x56, 64 -> 64 channels
//   conv1x1:   ResNet-50 conv2_x 1x1 expansion + bias + ReLU, 56x56, 64 -> 256 channels
//   depthwise: MobileNet-V2 3x3 depthwise convolution, stride 2, 112x112x96 -> 56x56x96, bias + ReLU6
// Each has a hand-written schedule used when auto_schedule=false.
#include "Halide.h"

namespace {

using namespace Halide;

class ConvLayer : public Halide::Generator<ConvLayer> {
  public:
    GeneratorParam<int> kernel{"kernel", 3};
    GeneratorParam<int> in_channels{"in_channels", 64};
    GeneratorParam<int> out_channels{"out_channels", 64};
    GeneratorParam<int> width{"width", 56};
    GeneratorParam<int> height{"height", 56};

    Input<Buffer<float, 4>> input{"input"};   // (ci, x, y, n), padded by kernel/2 on each side
    Input<Buffer<float, 4>> filter{"filter"}; // (co, ci, kx, ky)
    Input<Buffer<float, 1>> bias{"bias"};     // (co)
    Output<Buffer<float, 4>> relu{"relu"};    // (co, x, y, n)

    void generate() {
        const int K = kernel, CI = in_channels, CO = out_channels, W = width, H = height;
        RDom r(0, CI, 0, K, 0, K);
        conv(c, x, y, n) = bias(c);
        conv(c, x, y, n) += filter(c, r.x, r.y, r.z) * input(r.x, x + r.y, y + r.z, n);
        relu(c, x, y, n) = max(0.0f, conv(c, x, y, n));

        input.set_estimates({{0, CI}, {0, W + K - 1}, {0, H + K - 1}, {0, 1}});
        filter.set_estimates({{0, CO}, {0, CI}, {0, K}, {0, K}});
        bias.set_estimates({{0, CO}});
        relu.set_estimates({{0, CO}, {0, W}, {0, H}, {0, 1}});

        if (!auto_schedule) {
            // Register-blocked direct convolution: each task owns a strip of output rows for a
            // block of output channels; the accumulator tile (2 vectors x 6 pixels) stays in
            // registers across the whole reduction.
            const int vec = natural_vector_size<float>();
            const int tile_c = std::min(CO, 2 * vec), tile_x = 6;
            Var co("co"), ci("ci"), xo("xo"), xi("xi");
            relu.split(c, co, ci, tile_c)
                .split(x, xo, xi, tile_x, TailStrategy::GuardWithIf)
                .reorder(ci, xi, xo, y, n, co)
                .vectorize(ci, vec)
                .unroll(ci)
                .unroll(xi)
                .parallel(y);
            conv.compute_at(relu, xo).vectorize(c, vec).unroll(c).unroll(x);
            conv.update().reorder(c, x, r.x, r.y, r.z, y, n).vectorize(c, vec).unroll(c).unroll(x);
        }
    }

  private:
    Var c{"c"}, x{"x"}, y{"y"}, n{"n"};
    Func conv{"conv"};
};

class DepthwiseLayer : public Halide::Generator<DepthwiseLayer> {
  public:
    GeneratorParam<int> channels{"channels", 96};
    GeneratorParam<int> width{"width", 56}; // output size
    GeneratorParam<int> height{"height", 56};
    GeneratorParam<int> stride{"stride", 2};

    Input<Buffer<float, 4>> input{"input"};   // (c, x, y, n), padded
    Input<Buffer<float, 3>> filter{"filter"}; // (c, kx, ky)
    Input<Buffer<float, 1>> bias{"bias"};
    Output<Buffer<float, 4>> output{"output"};

    void generate() {
        const int C = channels, W = width, H = height, S = stride;
        RDom r(0, 3, 0, 3);
        dw(c, x, y, n) = bias(c);
        dw(c, x, y, n) += filter(c, r.x, r.y) * input(c, S * x + r.x, S * y + r.y, n);
        output(c, x, y, n) = clamp(dw(c, x, y, n), 0.0f, 6.0f);

        input.set_estimates({{0, C}, {0, S * (W - 1) + 3}, {0, S * (H - 1) + 3}, {0, 1}});
        filter.set_estimates({{0, C}, {0, 3}, {0, 3}});
        bias.set_estimates({{0, C}});
        output.set_estimates({{0, C}, {0, W}, {0, H}, {0, 1}});

        if (!auto_schedule) {
            const int vec = natural_vector_size<float>();
            Var co("co"), ci("ci"), xo("xo"), xi("xi");
            output.split(c, co, ci, 2 * vec)
                .split(x, xo, xi, 4, TailStrategy::GuardWithIf)
                .reorder(ci, xi, co, xo, y, n)
                .vectorize(ci, vec)
                .unroll(ci)
                .unroll(xi)
                .parallel(y);
            dw.compute_at(output, co).vectorize(c, vec).unroll(c).unroll(x);
            dw.update().reorder(c, x, r.x, r.y, y, n).vectorize(c, vec).unroll(c).unroll(x).unroll(r.x);
        }
    }

  private:
    Var c{"c"}, x{"x"}, y{"y"}, n{"n"};
    Func dw{"dw"};
};

} // namespace

HALIDE_REGISTER_GENERATOR(ConvLayer, conv_layer)
HALIDE_REGISTER_GENERATOR(DepthwiseLayer, depthwise_layer)
