// Featurizer: turns a (partial) ScheduleState into per-stage feature vectors (FeatureLayout.h).
// It derives, for every Func, where and how often it is realized and over what region, then
// for every scheduled stage its work, vectorisation, parallelism, loads and the bytes it pulls
// through each cache level (from footprints at every loop level of its nest).
#pragma once

#include "../cost_model/CostModel.h"
#include "ScheduleState.h"

#include <map>
#include <optional>
#include <vector>

namespace harl {

struct Realization {
    Region region;                            // computed region per realization
    double count = 1;                         // number of realizations
    double alloc_points = 0, alloc_count = 1; // storage per allocation, number of allocations
    // Per dimension of `region`: whether Halide can size it when it compiles the pipeline (a
    // constant extent), so that a buffer with every dimension fixed and at most 16 KB lives on
    // the stack. A region spanning a runtime extent (an output's, an unsplit loop's) or moving
    // with a division or a clamp is sized at run time, and its buffer is a heap allocation.
    // (Where a guarded tail makes Halide size a fixed region at run time too, StorageBounds.h
    // gives the buffer a proven constant bound, so that it does live on the stack.)
    std::vector<char> fixed;
    double heap_allocations = 0;          // per run of the pipeline
    std::vector<LoopNest> nests;          // per stage
    std::vector<std::vector<Span>> boxes; // per stage loop box per realization
};

// A load after inlining: the producer actually read, reached through a chain of AccessMaps.
struct EffectiveLoad {
    int producer = -1;
    std::vector<const AccessMap *> chain;
    double calls = 0;
};

class Featurizer {
  public:
    Featurizer(const ScheduleState &s, const MachineInfo &m);
    const Realization &realization(int node);
    // Features of every stage of `node` (empty for inlined Funcs).
    std::vector<StageFeatures> node_features(int node);
    // The loads of a stage through its inlined producers, with its arithmetic and theirs in
    // `ops` (if given). Computed once per stage of this state.
    const std::vector<EffectiveLoad> &effective_loads(const Stage &st, OpCounts *ops) const;
    Region apply_chain(const EffectiveLoad &l, const std::vector<Span> &box) const;

    // Region of `producer` needed by one box of `consumer`'s stage-0 loops (capped at its root).
    Region region_of(int producer, int consumer, const std::vector<Span> &consumer_box) const;
    // Which dimensions of `producer`'s region for a box of `consumer`'s stage-0 loops keep a
    // constant extent, given which loop vars of that box have one (`fixed_vars`).
    std::vector<char> fixed_dims(int producer, int consumer, const std::vector<Span> &consumer_box,
                                 const std::vector<char> &fixed_vars) const;

    // Loop levels of a stage from its innermost loop out to the root, through the loops of the
    // consumers it is computed inside: the stage's loop box covered by one iteration, and how
    // many iterations there are in all.
    struct Level {
        std::vector<Span> box;
        double iterations;
    };
    std::vector<Level> levels(int node, int stage);

  private:
    StageFeatures stage_features(int node, int stage);
    // Elements of the read Func's storage between the elements a load reads in two iterations
    // of its stage's loop k (through inlined Funcs; NaN when an index is not affine).
    double element_stride(const EffectiveLoad &l, int k) const;
    // Walks the load's chain of AccessMaps: calls visit(i, moves) with how far each dimension
    // of the Func chain[i] reads moves in two iterations of the stage's loop k (NaN: not
    // affine), until it returns false. False for scalar reads and loops the stage lacks.
    template <typename Visit> bool walk_chain_moves(const EffectiveLoad &l, int k, Visit &&visit) const;
    // The clamps a load's index passes through along its stage's loop k: some dimension moving
    // with k is clamped (in the Func read or in an inlined one on the way), and whether such a
    // clamp cuts the index range at the low / high end (PipelineGraph's clamp_binds_*).
    struct ClampExposure {
        bool through_clamp = false, binds_low = false, binds_high = false;
    };
    ClampExposure clamp_exposure(const EffectiveLoad &l, int k) const;
    // The fraction of a stage's points that Halide's loop partitioning leaves in the first and
    // last iterations of the loops around clamps that cut (where every clamp stays).
    double border_fraction(int node, int stage, const std::vector<EffectiveLoad> &loads,
                           const std::vector<Level> &lv);
    // Elements of the stage's own storage between the points of two iterations of its loop k
    // (0 for an RVar: an update's accumulator stays).
    double own_storage_stride(int node, int stage, int k);
    // False sharing: the fraction of a stage's stores that land in cache lines a neighbouring
    // task of its own parallel loop writes too (tasks whose contiguous run of the storage is
    // not a whole number of lines, split along the dimension the tasks step through). Halide
    // hands neighbouring task indices to different threads, so those lines move between cores
    // on every store while both run. 0 without a parallel loop of its own.
    double shared_line_fraction(int node, int stage);
    // L2 traffic a reduction adds by thrashing L1 sets: lines the block inside its RVar loops
    // touches (accumulators, loads) that fall into one set beyond its ways (rows a power of two
    // apart) miss on every RVar iteration. `accumulator_lines`: how many of those misses are
    // the accumulators' (lines stored to and loaded back).
    double set_conflict_bytes(int node, int stage, const std::vector<EffectiveLoad> &loads,
                              double *accumulator_lines);
    const ScheduleState &s_;
    const PipelineGraph &g_;
    MachineInfo m_;
    std::map<int, Realization> memo_;
    // Per node: the Funcs computed at one of its loops (built once per state).
    const std::vector<std::vector<int>> &computed_here();
    std::vector<std::vector<int>> computed_here_;
    struct StageLoads {
        std::vector<EffectiveLoad> loads;
        OpCounts ops;
    };
    StageLoads compute_effective_loads(const Stage &st) const;
    mutable std::map<const Stage *, StageLoads> loads_memo_; // effective_loads() of this state
};

// Every stage's features of a state, in decision order, with the node and stage index of each
// (either list may be null).
std::vector<StageFeatures> featurize_all(const ScheduleState &s, const MachineInfo &m,
                                         std::vector<int> *stage_nodes, std::vector<int> *stage_indices);

} // namespace harl
