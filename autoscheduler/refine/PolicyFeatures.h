// PolicyFeatures: the rows the refinement policies score (cost_model/PolicyNet.h), one layout
// per level of the hierarchy. Bump kPolicyLayoutVersion when their meaning changes.
//   stage  (kStageInputs):  the stage's predicted share of the runtime (and its log), its
//          placement, whether it is a reduction, parallel or vectorised, its size, how often
//          editing it has paid off in this run, and the mean share/placement of its producers
//          and of its consumers (one round of message passing over the graph's edges);
//   kind   (kKindInputs):   the stage row, the kind (one-hot), how many edits of that kind
//          exist and how often that kind has paid off on this stage;
//   value  (kValueInputs):  the kind, the predicted change of the runtime if taken (log ratio),
//          the change of tile volume, of placement, of vector width and of parallelism;
//   critic (kCriticInputs): mean and max of the stage rows, and the episode's progress.
#pragma once

#include "../../cost_model/PolicyNet.h"
#include "EditSpace.h"

#include <array>
#include <vector>

namespace harl {

// How edits of one Func have gone so far in this run (the policies adapt on it).
struct EditHistory {
    int tries = 0, wins = 0;
    std::array<int, kNumEditKinds> kind_tries{}, kind_wins{};
};

// One row per node of `nodes` (kStageInputs floats each).
std::vector<float> stage_rows(const ScheduleState &s, const std::vector<int> &nodes,
                              const std::vector<double> &node_cost, const std::vector<EditHistory> &history);
// One row per kind in `kinds` for the stage whose row is `stage_row`.
std::vector<float> kind_rows(const float *stage_row, const std::vector<EditKind> &kinds,
                             const std::vector<int> &edits_per_kind, const EditHistory &h);
// One row per edit: `after` is the predicted seconds of each edited schedule.
std::vector<float> value_rows(const ScheduleState &s, const std::vector<Edit> &edits,
                              const std::vector<double> &after, double before);
std::vector<float> critic_row(const std::vector<float> &stage_rows, int num_stages, double progress);

} // namespace harl
