// ScheduleState: a (partial) schedule as an immutable value. Decisions are made per Func,
// consumers before producers; each Func's decision is a shared, never-mutated FuncChoice, so
// search states that share a prefix of decisions share their storage (copy-on-write).
#pragma once

#include "PipelineGraph.h"

#include <boost/container/small_vector.hpp>

#include <memory>
#include <string>
#include <vector>

namespace harl {

// How one stage's own loops are tiled. Loops, innermost first, after scheduling:
//   [vector lanes of the vector var] [inner tiles of the pure vars] [RVars] [outer tiles]
// A pure var with tile 1 has only an outer loop; with tile >= its extent, only an inner loop.
struct StageChoice {
    std::vector<int64_t> tile; // per loop var (Stage::loops order); ignored for RVars
    int vector_var = -1;       // loop var vectorised (a free pure var), -1 = none
    int vector_width = 0;      // lanes (the inner tile of the vector var is a multiple)
    bool unroll = false;       // unroll the inner tiles of the other pure vars (constant extents)
    int parallel_loops = 0;    // outermost outer loops fused and run in parallel (0 = serial)
    bool scheduled = true;     // false: leave Halide's default loop nest (untileable updates)
    bool operator==(const StageChoice &o) const;
};

enum class Placement { Inline, Root, At };

struct FuncChoice {
    Placement placement = Placement::Root;
    int at_node = -1;    // consumer Func whose stage 0 loops hold this Func (Placement::At)
    int at_loop = -1;    // index into that consumer's LoopNest: computed per iteration of it
    int store_loop = -1; // index >= at_loop: storage hoisted to this loop (sliding window); -1 = at_loop
    std::vector<StageChoice> stages;
};

// One loop of a scheduled stage.
struct LoopInfo {
    enum Kind { Vector, Inner, RVar, Outer };
    Kind kind = Outer;
    // Loop vars (Stage::loops indices) it iterates; several when fused. Inline storage for a
    // few: the featurizer builds every Func's loop nest for every search state.
    boost::container::small_vector<int, 4> vars;
    int64_t extent = 1; // iterations per realization (estimate)
    int64_t factor = 1; // split factor of an Inner/Vector loop (constant)
    bool parallel = false, unrolled = false, vectorized = false;
    std::string name; // Halide name of the loop variable
};

struct LoopNest {
    std::vector<LoopInfo> loops; // innermost first
    // Extent of each loop var covered by one iteration of loop `level` (loops.size() = the whole
    // realization).
    std::vector<int64_t> covered(int level, const std::vector<Span> &full) const;
    // Iterations of loop `level`, including all loops outside it, per realization.
    double iterations(int level) const;
};

// `named`: false leaves every LoopInfo::name empty, for callers that never emit the schedule
// (the featurizer builds a nest per Func and state, and the names cost as much as the rest).
LoopNest build_loop_nest(const Stage &stage, const StageChoice &choice, const std::vector<Span> &box,
                         bool named = true);

class ScheduleState {
  public:
    ScheduleState(const PipelineGraph &g, int parallelism);
    const PipelineGraph &graph() const { return *graph_; }
    int num_decided() const { return num_decided_; }
    bool complete() const { return num_decided_ == (int)graph_->decision_order().size(); }
    int next_node() const;
    bool decided(int node) const { return (bool)choices_.at(node); }
    // The decision for a node, or the default (root, simple tiling) for undecided nodes.
    const FuncChoice &choice(int node) const;
    // The shared decision of a decided node (null when undecided).
    const std::shared_ptr<const FuncChoice> &choice_ptr(int node) const { return choices_.at(node); }
    ScheduleState with(int node, std::shared_ptr<const FuncChoice> c) const;
    // Replaces the decision of an already decided Func that nothing is computed inside yet.
    ScheduleState retiled(int node, std::shared_ptr<const FuncChoice> c) const;
    // The non-inlined Funcs consuming `node`, looking through inlined consumers.
    std::vector<int> effective_consumers(int node) const;
    // The loop of `outer`'s nest that `node` is (transitively) computed inside, or -1.
    int level_within(int node, int outer) const;
    std::string describe() const;

  private:
    const PipelineGraph *graph_;
    std::vector<std::shared_ptr<const FuncChoice>> choices_;
    // The choices of undecided Funcs, the same for every state of a search: shared, so that
    // copying a state (once per candidate) copies one vector of the graph's size, not two.
    std::shared_ptr<const std::vector<std::shared_ptr<const FuncChoice>>> defaults_;
    int num_decided_ = 0;
};

// The choice that inlines a Func: no loops of its own, every stage left unscheduled.
std::shared_ptr<FuncChoice> inline_choice(const Node &n);

// A reasonable loop nest for any stage: vectorise the innermost free pure var, parallelise the
// outermost. Used for undecided Funcs and as a search seed.
StageChoice default_stage_choice(const Stage &st, const std::vector<Span> &box, int parallelism);

} // namespace harl
