// SearchSpace: the legal decisions for one Func given the decisions already made for its
// consumers: inline, compute_root, or compute_at/store_at a loop of its single consumer, each
// with candidate loop nests (multi-level tiles, vectorisation at the native width, unrolling of
// constant inner tiles, parallel outer loops sized to the machine's parallelism, and the order
// of pure tiles around RVars for update stages).
#pragma once

#include "Options.h"
#include "ScheduleState.h"

#include <memory>
#include <random>
#include <vector>

namespace harl {

struct SearchContext {
    int parallelism = 8;
    int max_candidates = 48;
    int vector_registers = 16;
    // The context of a machine (MachineInfo's parallelism and vector registers).
    template <typename Machine> static SearchContext of(const Machine &m, int max_candidates = 48) {
        return {m.parallelism, max_candidates, m.vector_registers};
    }
};

// One decision for a Func. Placing a reduction inside its consumer may also retile that
// consumer's loops (only while nothing else is computed inside them), so that the producer's
// tile can be a register block: `retile_node` then gets `retile`.
struct Decision {
    std::shared_ptr<const FuncChoice> choice;
    int retile_node = -1;
    std::shared_ptr<const FuncChoice> retile;
};

std::vector<Decision> candidate_choices(const ScheduleState &s, int node, const SearchContext &ctx,
                                        std::mt19937_64 &rng);

// Candidate loop nests for one stage realized over `box`. `inside_parallel`: the stage already
// runs inside a parallel loop of a consumer, so it gets no parallel loop of its own.
// `computed_inside`: it is computed at a loop of a consumer. `fixed_dims`, per dimension of the
// Func: its extent is the same in every realization (tiles of a root output, not read through
// clamps); only those are unrolled, and only those vectorise an update computed inside.
std::vector<StageChoice> stage_candidates(const Stage &st, const std::vector<Span> &box, bool inside_parallel,
                                          bool computed_inside, const std::vector<bool> &fixed_dims,
                                          const SearchContext &ctx, std::mt19937_64 &rng);

} // namespace harl
