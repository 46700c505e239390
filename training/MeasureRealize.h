// measure_realize: how the training tools time a scheduled pipeline. In a child process
// (ChildProcessRunner.h), so a candidate that crashes or hangs is recorded, not fatal: JIT
// compilation and a warm-up run, then timed realizations into `output`.
#pragma once

#include "ChildProcessRunner.h"
#include "Dataset.h"
#include "Halide.h"

namespace harl {

inline MeasureResult measure_realize(Halide::Pipeline &p, const Halide::Target &target,
                                     Halide::Buffer<float> &output, const MeasureOptions &mo) {
    return measure_in_child(
        [&] {
            p.compile_jit(target);
            p.realize(output);
            output.device_sync();
        },
        [&] {
            p.realize(output);
            output.device_sync(); // GPU targets: time the kernels, not their launch
        },
        mo);
}

// A sample's measurement fields from a measurement.
inline void set_measurement(const MeasureResult &m, SampleRecord *s) {
    s->status = m.status_name();
    s->message = m.message;
    s->runtime_s = m.min_seconds;
    s->median_s = m.median_seconds;
    s->compile_s = m.compile_seconds;
    s->runs = m.runs;
}

} // namespace harl
