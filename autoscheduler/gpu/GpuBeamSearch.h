// GpuBeamSearch: decides every Func of a GPU schedule, consumers first, keeping the
// `beam_size` cheapest partial schedules by a CostModel over GPU features (undecided Funcs are
// costed as root kernels with a plain mapping). Only valid candidates (GpuValidity) are ever
// scored. Deterministic for a seed; past 75% of the time budget it finishes greedily.
#pragma once

#include "../../cost_model/CostModel.h"
#include "../Options.h"
#include "GpuSchedule.h"
#include "GpuSearchSpace.h"

namespace harl {

struct GpuSearchResult {
    GpuSchedule best;
    double cost = 0;
    int states_evaluated = 0;
    double seconds = 0;
    bool budget_exhausted = false;
    GpuSpaceStats stats; // proposals and invalid proposals over the whole search
};

GpuSearchResult gpu_beam_search(const PipelineGraph &g, const TargetModel &tm, const HarlOptions &opts,
                                CostModel &model);

// Predicted seconds of a (partial) GPU schedule.
double gpu_schedule_cost(const GpuSchedule &s, CostModel &model);

} // namespace harl
