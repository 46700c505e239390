// RfactorPass: reductions whose pure loops cannot keep the machine busy (a sum over a whole
// image, a histogram) are split with Halide's rfactor before the search: the outermost RVar
// (split first when the RDom is one-dimensional) becomes a pure var of a new intermediate Func
// whose partial results the original update then combines. The intermediate is parallel; the
// search schedules it like any other Func. Reductions Halide cannot prove associative are left
// alone.
#pragma once

#include "PipelineGraph.h"

#include <string>
#include <vector>

namespace harl {

struct RfactorResult {
    int applied = 0;
    // C++ statements (in terms of `pipeline`) that redo the transformation; they must run
    // before the rest of the schedule, as Pipeline::get_func indices change after each one.
    std::vector<std::string> source;
};

RfactorResult apply_rfactor(const PipelineGraph &g, int parallelism);

} // namespace harl
