// What harl-collect and harl-compare build for a random pipeline seed. 3 seeds in 10 give a
// stack of DNN layers (make_random_layers), sized by its own draw; the others a general random
// pipeline with a spatial scale and a channel multiplier (make_random_pipeline's `scale` and
// `channel_scale`), so that runtimes land around 0.1-100 ms on a desktop-class CPU. Scales 2-5
// with 4-16 channels gave a median best runtime of about 0.4 ms and left the learned model
// guessing on DNN layers, so 3 of those 10 get 4x the channels (16-64) on smaller maps and 2 in
// 10 8x (32-128) on the smallest, like the later layers of a network. The general pipelines
// clamp every access and pad with repeat-edge boundaries, which DNN code does not; the layer
// stacks cover that.
#pragma once

#include "RandomPipeline.h"

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>

namespace harl {

struct PipelineScale {
    int spatial, channels;
    bool layers; // a DNN layer stack; spatial and channels do not apply
};

inline PipelineScale pipeline_scale_of(uint64_t seed) {
    std::mt19937_64 r(seed * 0x9E3779B97F4A7C15ull + 12345);
    static const PipelineScale scales[] = {{2, 1, false},  {4, 1, false}, {6, 1, false}, {8, 1, false},
                                           {12, 1, false}, {2, 4, false}, {3, 4, false}, {4, 4, false},
                                           {1, 8, false},  {2, 8, false}};
    PipelineScale ps = scales[r() % 10];
    ps.layers = r() % 10 < 3;
    return ps;
}

// A seed's pipeline as the tools name it: the seed, the general pipelines' stage range and the
// family. The dense family (make_random_dense) is collected only when asked for (`--family
// dense`): its seeds are a space of their own, keyed "dn<version>-s<seed>", so adding it changed
// no pipeline of an earlier seed.
struct SeedPipeline {
    uint64_t seed = 0;
    int min_stages = 2, max_stages = 8;
    bool dense = false;
};

// Bump when RandomPipeline changes what a seed produces: keys of old pipelines then differ.
constexpr int kGeneratorVersion = 2; // 2: every input access clamped to the input
// The same for make_random_layers (keys "dl<version>-s<seed>"); 2: softmax heads.
constexpr int kLayersVersion = 2;
// The same for make_random_dense (keys "dn<version>-s<seed>").
constexpr int kDenseVersion = 1;

// The pipeline of a seed, as pipeline_scale_of draws it (or the dense family's).
inline RandomPipeline pipeline_of(const SeedPipeline &sp) {
    if (sp.dense) return make_random_dense(sp.seed);
    const PipelineScale ps = pipeline_scale_of(sp.seed);
    return ps.layers
               ? make_random_layers(sp.seed)
               : make_random_pipeline(sp.seed, sp.min_stages, sp.max_stages, ps.spatial, false, ps.channels);
}
inline RandomPipeline pipeline_of_seed(uint64_t seed, int min_stages, int max_stages) {
    return pipeline_of({seed, min_stages, max_stages, false});
}

// The generator version a seed's pipeline was built with (recorded with the pipeline).
inline int generator_version_of(const SeedPipeline &sp) {
    return sp.dense ? kDenseVersion : pipeline_scale_of(sp.seed).layers ? kLayersVersion : kGeneratorVersion;
}

// The dataset key of a seed's pipeline: family, generator version, seed, scale and stage range,
// so a key names one pipeline whatever collected it.
inline std::string pipeline_key(const SeedPipeline &sp) {
    if (sp.dense) return "dn" + std::to_string(kDenseVersion) + "-s" + std::to_string(sp.seed);
    const PipelineScale ps = pipeline_scale_of(sp.seed);
    if (ps.layers) return "dl" + std::to_string(kLayersVersion) + "-s" + std::to_string(sp.seed);
    return "rp" + std::to_string(kGeneratorVersion) + "-s" + std::to_string(sp.seed) + "-x" +
           std::to_string(ps.spatial) + (ps.channels > 1 ? "c" + std::to_string(ps.channels) : "") + "-n" +
           std::to_string(sp.min_stages) + "_" + std::to_string(sp.max_stages);
}

// The pipeline of a dataset key this build still makes: true (and the seed's pipeline; layer
// stacks and dense blocks have no stage range and get 2..8, unused) when its key is that key,
// so the pipeline rebuilt from the seed is the one that was measured.
inline bool rebuildable_key(const std::string &key, uint64_t seed, SeedPipeline *sp) {
    *sp = SeedPipeline{seed, 2, 8, true};
    if (pipeline_key(*sp) == key) return true;
    sp->dense = false;
    const size_t n = key.rfind("-n"), sep = key.rfind('_');
    if (n != std::string::npos && sep != std::string::npos && sep > n) {
        try {
            sp->min_stages = std::stoi(key.substr(n + 2, sep - n - 2));
            sp->max_stages = std::stoi(key.substr(sep + 1));
        } catch (const std::exception &) {
            return false;
        }
    }
    return pipeline_key(*sp) == key;
}

// Whether a seed belongs to the tools' --family choice: all (general pipelines and layer
// stacks, as pipeline_scale_of draws them), layers, general, or dense (every seed: its own space).
inline bool seed_in_family(uint64_t seed, const std::string &family) {
    if (family != "all" && family != "layers" && family != "general" && family != "dense")
        throw std::invalid_argument("--family " + family + ": expected all, layers, general or dense");
    return family == "all" || family == "dense" || pipeline_scale_of(seed).layers == (family == "layers");
}

} // namespace harl
