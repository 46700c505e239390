// BeamSearch: makes one decision per Func, consumers first, keeping the `beam_size` cheapest
// partial schedules by the cost model (beam 1 = greedy). Partial schedules are costed with
// undecided Funcs at their default (root) schedule. Deterministic for a seed; when the time
// budget runs out the remaining decisions are made greedily from a reduced candidate set.
#pragma once

#include "../cost_model/CostModel.h"
#include "Options.h"
#include "ScheduleState.h"
#include "SearchSpace.h"

#include <functional>
#include <vector>

namespace harl {

struct SearchResult {
    ScheduleState best;
    double cost = 0; // predicted seconds
    int states_evaluated = 0;
    double seconds = 0;
    bool budget_exhausted = false;
    // The complete schedules of the final beam with their predicted seconds, cheapest first
    // (best is the first): measured tuning starts from several of them.
    std::vector<std::pair<ScheduleState, double>> finalists;
};

// Stage features of many states, predicted by one CostModel call: `add` featurizes the listed
// nodes of a state (zeroing their entries in node_cost), `predict` runs the model once and
// hands each stage's seconds to `add` with the owner and node it came from.
class StageBatch {
  public:
    explicit StageBatch(const MachineInfo &m) : m_(m) {}
    void add(const ScheduleState &s, const std::vector<int> &nodes, int owner,
             std::vector<double> *node_cost);
    void predict(CostModel &model, const std::function<void(int owner, int node, double seconds)> &add);

  private:
    MachineInfo m_;
    std::vector<StageFeatures> rows_;
    std::vector<std::pair<int, int>> owners_;
};

// Predicted seconds of each node's stages in `s` for the nodes listed (0 for inlined nodes).
void cost_nodes(const ScheduleState &s, const std::vector<int> &nodes, const MachineInfo &m, CostModel &model,
                std::vector<double> *node_cost);

SearchResult beam_search(const PipelineGraph &g, const HarlOptions &opts, const MachineInfo &m,
                         CostModel &model);

} // namespace harl
