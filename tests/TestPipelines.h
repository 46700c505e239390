// A corpus of small pipelines covering everything HARL's analysis claims to accept. Each case
// builds fresh Funcs on every call, so one copy can be autoscheduled and another left
// unscheduled as the reference.
#pragma once

#include "Halide.h"

#include <functional>
#include <string>
#include <vector>

namespace harl_test {

struct BuiltPipeline {
    std::vector<Halide::Func> outputs;
    std::vector<std::vector<int>> sizes; // per output
    std::vector<Halide::ImageParam> params;
    std::vector<Halide::Buffer<>> inputs; // bound to params, same order
};

struct PipelineCase {
    std::string name;
    std::function<BuiltPipeline()> build;
};

const std::vector<PipelineCase> &pipeline_corpus();
const PipelineCase &find_case(const std::string &name);

// Realizes the pipeline into fresh buffers (one per output value).
std::vector<Halide::Buffer<>> run_pipeline(BuiltPipeline &b, const Halide::Target &t);
// Empty when equal (exact for integers, relative 1e-4 for floats); else the first mismatch.
std::string compare_buffers(const Halide::Buffer<> &a, const Halide::Buffer<> &b);

} // namespace harl_test
