// Random, realistic Halide pipelines for data collection and fuzzing. A seed fully determines
// the pipeline: 2-20 stages drawn from convolutions (regular, strided, dilated, depthwise, 1x1),
// channel-mixing matmuls, pooling, activations, element-wise ops over several stages, up/down
// resampling, reductions over channels, scans, histograms and casts between uint8, uint16,
// int16, int32 and float, with boundary conditions on every stencil. Every input and the output
// carries estimates; sizes keep a pipeline small enough to run in milliseconds.
#pragma once

#include "Halide.h"

#include <cstdint>
#include <string>
#include <vector>

namespace harl {

struct RandomPipeline {
    std::vector<Halide::ImageParam> inputs;
    std::vector<Halide::Buffer<>> input_data; // deterministic contents, bound to `inputs`
    Halide::Func output;
    std::vector<int> output_size;
    std::vector<std::string> stage_kinds; // one per stage, for reports
};

// `scale` multiplies the spatial sizes (1 = fuzzing size), `channel_scale` the channel counts
// (4-16 at 1; DNN layers have 64-256). With `embed_inputs` the input data are constant Buffers
// inside the pipeline (`inputs` stays empty): how the AOT generator builds it. The same seed
// gives the same pipeline structure and data either way.
RandomPipeline make_random_pipeline(uint64_t seed, int min_stages = 2, int max_stages = 20, int scale = 1,
                                    bool embed_inputs = false, int channel_scale = 1);

// A random stack of 1-3 DNN layers (RandomLayers.cpp): convolutions 1x1/3x3/5x5 (some strided)
// with bias and ReLU/ReLU6, depthwise convolutions, max/average pooling and residual additions,
// float with channels innermost (8-256), a pre-padded input read without clamping, "same" or
// "valid" padding. The map (7-112 pixels a side) shrinks until the stack needs at most about
// `max_mflops` million floating-point operations.
RandomPipeline make_random_layers(uint64_t seed, double max_mflops = 400, bool embed_inputs = false);

// A random chain of 1-3 dense blocks (RandomDense.cpp): linear layers (weights stored either way
// round, optional bias, ReLU/GELU/SiLU), softmax over features, layer norm and residual
// additions, on float (feature, row) tensors of 8-4096 features and 1-16384 rows. The rows
// shrink until the chain needs at most about `max_mflops` million floating-point operations.
RandomPipeline make_random_dense(uint64_t seed, double max_mflops = 400, bool embed_inputs = false);

} // namespace harl
