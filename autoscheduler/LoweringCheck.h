#pragma once
// LoweringCheck: lowers a schedule in a forked child before HARL hands it to the user.
//
// Halide 14 crashes in its own lowering on some schedules that are legal: a segfault in the
// simplifier (simplify_let) with loops fused into one parallel loop, for random pipelines
// 40093, 82057, 84226 (stages reading only inputs: those fuse no loops since) and 90025 (a
// convolution's pure stage and an element-wise stage over a boundary condition, fused tile
// loops). A crash there would take the user's generator down after HARL returned. The chosen
// schedule is applied and lowered (Pipeline::compile_to_module: no LLVM code generation) in a
// child; if the child dies of a signal, the schedule is emitted again with no fused loops and
// checked again. HARL_CHECK_LOWERING=0 skips the check. On CPU targets harl::autoschedule runs
// it only where StorageBounds' own lowering of the schedule in a child did not go through (a
// crash, or no Func for that pass to bound): a lowering that did is the same check.

#include "PipelineGraph.h"
#include "ScheduleEmitter.h"

#include "Halide.h"

#include <string>
#include <vector>

namespace harl {

struct LoweringCheck {
    std::vector<Directive> directives; // the ones to apply
    std::string note;                  // for the schedule's header comment ("" when nothing changed)
};

// The directives of `s` that Halide lowers without crashing: as emitted, else without fused
// loops. Throws HarlError when Halide crashes on both. A check that fails for another reason (a
// timeout, a Halide error, no fork) keeps the schedule as emitted.
LoweringCheck check_lowering(const PipelineGraph &g, const Halide::Pipeline &p, const Halide::Target &t,
                             const ScheduleState &s, double timeout_s);

} // namespace harl
