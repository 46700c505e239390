// GpuFeaturizer: per-stage features (GpuFeatureLayout.h) of a (partial) GPU schedule: the work
// each stage does including recomputation, how its kernel occupies the device (threads, blocks,
// waves, occupancy from threads, registers and shared memory), where its loads come from
// (global memory with their coalescing, shared memory, registers), its stores and accumulator
// traffic, kernel launches, and the work left on the host.
#pragma once

#include "../../cost_model/CostModel.h"
#include "../../cost_model/GpuFeatureLayout.h"
#include "GpuSchedule.h"

#include <vector>

namespace harl {

// Features of every stage of `node` (empty for inlined Funcs).
std::vector<StageFeatures> gpu_node_features(const GpuSchedule &s, int node);
// Every stage's features, in decision order, with the node and stage index of each.
std::vector<StageFeatures> gpu_featurize_all(const GpuSchedule &s, std::vector<int> *nodes,
                                             std::vector<int> *stages);
// Region of `producer` that stage `st` needs over `box`, looking through inlined Funcs.
Region gpu_region_needed(const GpuSchedule &s, const Stage &st, const std::vector<Span> &box, int producer);

} // namespace harl
