// CandidateMeasurer: compiles and times a complete schedule of the pipeline being scheduled,
// for real. Everything happens in a forked child (runner/ChildProcessRunner.h): it applies the
// schedule to its copy of the Funcs, binds every input (ImageParams get deterministic data of
// their estimated size, Params their estimate), JIT-compiles, runs and times it. A candidate
// that fails to compile, crashes or exceeds the timeout is reported as failed; the generator's
// own Funcs are never touched.
#pragma once

#include "../ScheduleState.h"
#include "ChildProcessRunner.h"
#include "TempFile.h"

#include <string>

namespace harl {

class CandidateMeasurer {
  public:
    CandidateMeasurer(const PipelineGraph &g, const Halide::Pipeline &p, const Halide::Target &t,
                      const MeasureOptions &opts);
    MeasureResult measure(const ScheduleState &s);

  private:
    const PipelineGraph &g_;
    Halide::Pipeline p_;
    Halide::Target target_;
    MeasureOptions opts_;
    int count_ = 0;
    TempFile reference_{"harl-reference"}; // outputs of the first schedule measured
};

// Binds every ImageParam/Param the pipeline's Funcs read to deterministic values of their
// estimated size (HarlError naming the parameter when it has no estimate). Mutates the
// parameters: call it only in a child process or on a pipeline of your own.
void bind_inputs_from_estimates(const PipelineGraph &g);
// Output buffers of the estimated regions, ready for Pipeline::realize.
Halide::Realization make_output_buffers(const PipelineGraph &g, const Halide::Pipeline &p);

} // namespace harl
