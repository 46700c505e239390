// The inputs of a random pipeline (RandomPipeline.cpp, RandomLayers.cpp): a dense buffer of
// deterministic pseudo-random contents, bound to an ImageParam with estimates or, for the AOT
// generator, embedded as a constant Buffer.
#pragma once

#include "Halide.h"
#include "RandomPipeline.h"

#include <random>
#include <string>
#include <vector>

namespace harl {

struct RandomInput {
    Halide::ImageParam param;
    Halide::Buffer<> data;
    std::vector<int> sizes;

    // Every access clamped to the input's extent, so a schedule that computes a producer past
    // the needed region (a tile larger than the image, shifted inwards below 0) stays in
    // bounds, as in real pipelines with boundary conditions.
    template <typename... Args> Halide::Expr operator()(Args &&...args) const {
        std::vector<Halide::Expr> at = {Halide::Expr(args)...};
        for (size_t d = 0; d < at.size(); d++)
            at[d] = Halide::clamp(at[d], 0, sizes[d] - 1);
        return at_unclamped(at);
    }

    // An access the algorithm keeps in bounds itself (a pre-padded DNN input): Halide checks the
    // bound buffer against the region a schedule needs before running.
    Halide::Expr at_unclamped(const std::vector<Halide::Expr> &at) const {
        return param.defined() ? Halide::Expr(param(at)) : Halide::Expr(data(at));
    }
};

// A new input named `name` of type `t` (float, uint8, uint16 or int16) with values drawn from
// `rng`; registered with `rp` unless embedded.
inline RandomInput make_random_input(const std::string &name, Halide::Type t, const std::vector<int> &sizes,
                                     bool embed, std::mt19937_64 &rng, RandomPipeline *rp) {
    Halide::Buffer<> b(t, sizes, name); // dense: fill its elements in memory order
    std::mt19937 r((uint32_t)rng());
    uint8_t *host = b.raw_buffer()->host;
    for (size_t i = 0; i < b.number_of_elements(); i++) {
        uint32_t v = r();
        if (t == Halide::Float(32))
            ((float *)host)[i] = (v % 2000) / 1000.0f - 1.0f;
        else if (t == Halide::UInt(8))
            host[i] = (uint8_t)v;
        else if (t == Halide::UInt(16))
            ((uint16_t *)host)[i] = (uint16_t)(v % 4096);
        else
            ((int16_t *)host)[i] = (int16_t)(v % 512 - 256);
    }
    if (embed) return RandomInput{Halide::ImageParam(), b, sizes};
    Halide::ImageParam p(t, (int)sizes.size(), name);
    Halide::Region est;
    for (int s : sizes)
        est.push_back({0, s});
    p.set_estimates(est);
    p.set(b);
    rp->inputs.push_back(p);
    rp->input_data.push_back(b);
    return RandomInput{p, Halide::Buffer<>(), sizes};
}

// The draws and names the DNN families' builders share (RandomLayers.cpp, RandomDense.cpp):
// integers and coins from a generator seeded by the pipeline seed and the family's `salt`,
// float inputs in1, in2, ... and Funcs numbered in the order they are made.
class RandomTensorBuilder {
  public:
    RandomTensorBuilder(uint64_t seed, uint64_t salt, bool embed)
        : rng_(seed * 0x9E3779B97F4A7C15ull + salt), embed_(embed) {}

    int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool coin(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
    RandomInput input(const std::vector<int> &sizes, RandomPipeline *rp) {
        return make_random_input("in" + std::to_string(inputs_++), Halide::Float(32), sizes, embed_, rng_,
                                 rp);
    }
    Halide::Func func(const std::string &kind) { return Halide::Func(kind + "_" + std::to_string(funcs_++)); }

  protected:
    std::mt19937_64 rng_;

  private:
    bool embed_;
    int inputs_ = 0, funcs_ = 0;
};

} // namespace harl
