// EditSpace: the legal one-Func edits of a complete schedule, and applying them. The RL
// refinement pass (RlRefiner.h) picks among these.
//
// The edits of Func n are the decisions SearchSpace offers for n when every Func decided before
// it (its consumers) keeps its decision, other than n's current one, grouped by kind: placement
// (inline / root / compute_at a consumer loop / store_at, including the retiled-consumer
// register blocks), tiling, vectorisation and unrolling, and parallelism (the number of outer
// loops fused into the parallel loop, one up or down). Applying an edit replays the decisions
// in order; a producer whose decision no longer fits (it was computed inside loops that changed,
// or its consumers changed) is re-decided greedily by the cost model, so every edited schedule
// is one the search space could have produced: legal by construction.
#pragma once

#include "../../cost_model/CostModel.h"
#include "../SearchSpace.h"

#include <random>
#include <vector>

namespace harl {

enum class EditKind { Placement, Tiling, VectorUnroll, Parallel };
constexpr int kNumEditKinds = 4;
const char *edit_kind_name(EditKind k);

struct Edit {
    int node = -1;
    EditKind kind = EditKind::Tiling;
    Decision decision;
};

class EditSpace {
  public:
    EditSpace(const PipelineGraph &g, const MachineInfo &m, CostModel &model, const SearchContext &ctx,
              uint64_t seed);
    // Predicted seconds of a schedule (and per node, when asked).
    double cost(const ScheduleState &s, std::vector<double> *node_cost = nullptr);
    // Legal edits of Func `node` in the complete schedule `s` (empty for inputs).
    std::vector<Edit> edits(const ScheduleState &s, int node);
    // `s` with the edit applied and producers repaired where needed.
    ScheduleState apply(const ScheduleState &s, const Edit &e);
    const PipelineGraph &graph() const { return g_; }

  private:
    ScheduleState prefix(const ScheduleState &s, int node) const;
    std::shared_ptr<const FuncChoice> repair(const ScheduleState &partial, int node);
    const PipelineGraph &g_;
    MachineInfo m_;
    CostModel &model_;
    SearchContext ctx_;
    std::mt19937_64 rng_;
};

// Whether two decisions for a Func are the same schedule.
bool same_choice(const FuncChoice &a, const FuncChoice &b);

} // namespace harl
