// The sizes harl-collect and harl-compare draw for a random pipeline seed: a spatial scale and
// a channel multiplier (make_random_pipeline's `scale` and `channel_scale`), so that runtimes
// land around 0.1-100 ms on a desktop-class CPU. Scales 2-5 with 4-16 channels gave a median
// best runtime of about 0.4 ms and left the learned model guessing on DNN layers, so 3 seeds in
// 10 get 4x the channels (16-64) on smaller maps and 2 in 10 8x (32-128) on the smallest, like
// the later layers of a network.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace harl {

struct PipelineScale {
    int spatial, channels;
};

inline PipelineScale pipeline_scale_of(uint64_t seed) {
    std::mt19937_64 r(seed * 0x9E3779B97F4A7C15ull + 12345);
    static const PipelineScale scales[] = {{2, 1}, {4, 1}, {6, 1}, {8, 1}, {12, 1},
                                           {2, 4}, {3, 4}, {4, 4}, {1, 8}, {2, 8}};
    return scales[r() % 10];
}

} // namespace harl
