// StageProfile: where the time of a scheduled pipeline goes, Func by Func, measured with
// Halide's sampling profiler (the `profile` target feature) in a child process like every other
// measurement of the training tools (ChildProcessRunner.h). harl-profile sets these times beside
// a cost model's per-stage estimates to show which stage a model misjudges.
#pragma once

#include "ChildProcessRunner.h"
#include "Halide.h"

#include <map>
#include <string>

namespace harl {

// The profiler's reports (one or more, as Halide prints them after each realization) summed:
// milliseconds per Func (and per runtime entry such as halide_malloc) over all reports.
struct ProfilerTotals {
    std::map<std::string, double> func_ms;
    double total_ms = 0; // the reports' "total time" lines
    int reports = 0;
};
ProfilerTotals parse_profiler_reports(const std::string &text);

struct StageProfile {
    MeasureResult measurement; // of the profiled code, which runs a little slower than unprofiled
    int realizations = 0;      // every run the totals cover (warm-up included)
    std::map<std::string, double> func_ms_per_run;
    double total_ms_per_run = 0;
};

// Compiles `p` for `target` plus the profile feature and realizes it into `output` as
// measure_in_child does with `mo`, collecting the profiler's reports; throws HarlError when
// the child leaves no report (it crashed before the first realization ended).
StageProfile profile_realize(Halide::Pipeline &p, const Halide::Target &target, Halide::Buffer<float> &output,
                             const MeasureOptions &mo);

} // namespace harl
