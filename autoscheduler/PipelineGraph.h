// PipelineGraph: HARL's immutable analysis of a Halide pipeline.
//
// Nodes are the pipeline's Funcs and input buffers in Halide's topological order (producers
// first; the index is the one Pipeline::get_func() uses). Every Func has one Stage per
// definition (pure + updates). A Stage iterates over a box of loop variables (pure vars and
// RVars, innermost first, Halide's default order) and loads from producers through AccessMaps:
// for each producer dimension, the required min and max as an affine function of the stage's
// loop bounds, fitted once from Halide's own bounds analysis so that footprints of any tile
// are cheap to evaluate during search. Regions are concrete, computed from the estimates.
#pragma once

#include "Halide.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace harl {

struct Span {
    int64_t min = 0, max = -1;
    int64_t extent() const { return max >= min ? max - min + 1 : 0; }
};
using Region = std::vector<Span>;
int64_t region_points(const Region &r);
// Grows `into` to cover `part` as well (an empty `into` becomes `part`).
void region_union(Region *into, const Region &part);

// One bound of one producer dimension as a function of the consumer's loop bounds:
// value = c + sum_k a[k] * loop_k.min + b[k] * loop_k.max. When the access is not affine
// (data-dependent, divisions that do not fit), `expr` is evaluated exactly instead, and when
// even that fails the producer's whole root extent is assumed.
struct AffineBound {
    bool affine = false;
    double c = 0;
    std::vector<double> a, b;
    Halide::Expr expr; // in terms of "<loop>.min" / "<loop>.max" variables; undefined = unbounded
};

struct AccessMap {
    int producer = -1;                 // node index
    int calls = 0;                     // call sites of the producer in this stage
    std::vector<AffineBound> min, max; // one per producer dimension
    // Where a constant clamp was stripped from an index (see ClampStripper): the exact bounds
    // with the clamps kept, in terms of "<loop>.min" / "<loop>.max" (undefined = no clamp).
    // Root regions are trimmed to them, as Halide's bounds inference trims them: a Func read
    // only through repeat_edge is realized over the image, not the image plus the stencil's halo.
    std::vector<Halide::Expr> clamped_min, clamped_max;
    // Per producer dimension: some index of it has a constant clamp (the dimensions that
    // clamped_min / clamped_max actually trim).
    std::vector<bool> clamped_dims;
    bool clamped(int d) const { return d >= 0 && d < (int)clamped_dims.size() && clamped_dims[d]; }
    // Per producer dimension whose index is computed from loaded data (a histogram's bin, a
    // lookup table's entry; its bounds are then only the range the data can take): the loops
    // of the consumer whose variables the index uses, bit k for loop k (bit 63 also for every
    // loop past it); 0 for other dimensions.
    std::vector<uint64_t> by_data_loops;
    // Whether some index computed from loaded data moves with loop `k`: a lookup that loads a
    // different element in each iteration.
    bool lookup_moves_with(int k) const;
    // Per producer dimension: over the consumer's root region, the clamp cuts the index range
    // at the low / high end (a stencil's halo beyond a repeat_edge'd image). Halide partitions
    // the loops around such clamps; their first / last iterations keep every clamp.
    std::vector<bool> clamp_binds_low, clamp_binds_high;
    // Producer dimension `d`'s required region for a consumer loop box. `fallback` is the
    // producer's root region (used for unbounded dimensions).
    Region apply(const std::vector<Span> &loop_box, const Region &fallback) const;
    // How the producer's innermost storage dimension moves when loop `k` advances by one:
    // 0 = broadcast, 1 = dense, other = strided; NaN when unknown or when another dimension moves.
    double stride_of_loop(int k) const;
    // Whether the accessed region moves with loop `k` (true when unknown).
    bool depends_on_loop(int k) const;
    // Whether producer dimension `d`'s region moves with loop `k` (true when unknown).
    bool dimension_depends_on_loop(int d, int k) const;
};

enum OpKind {
    OpFAdd,
    OpFMul,
    OpFDiv,
    OpIAdd,
    OpIMul,
    OpIDiv,
    OpCmpSelect,
    OpMath,
    OpCast,
    OpLoad,
    NumOpKinds
};
using OpCounts = std::array<double, NumOpKinds>;
const char *op_kind_name(int k);

struct LoopVar {
    std::string name; // Halide's name ("x", "r4$x")
    bool rvar = false;
    int pure_dim = -1; // index into the Func's args for pure vars
    bool free = true;  // may be split/reordered/parallelised/vectorised (pure vars used only in place)
    Span rdom;         // concrete bounds for RVars
    // An RVar the update's left-hand side is indexed with (a histogram, a scan along r): the
    // stores move with it, so its loop is no reduction into one accumulator.
    bool in_store_index = false;
    // The name scheduling calls use: RVars produced by splits carry a qualified name
    // ("r$x.r$x_i") in expressions, while schedules name them unqualified.
    std::string schedule_name() const { return name.substr(name.rfind('.') + 1); }
};

struct Stage {
    int node = -1, index = 0;
    std::string name;             // "f" or "f.update(0)"
    std::vector<LoopVar> loops;   // innermost first
    OpCounts ops{};               // per point of the stage
    std::vector<AccessMap> loads; // one per distinct producer (self loads excluded)
    bool self_loads = false;
    int vector_lanes = 1; // native lanes of the widest type the stage computes with
    int bytes = 4;        // bytes per point of the Func's value(s)
    // The only stage of a Func that reads nothing but pipeline inputs, directly or through pure
    // Funcs that do (an input's wrapper, a first stencil, a boundary condition of a resampled
    // input: each may end up reading the input once its producers are inlined). Halide 14
    // mishandles fused tile loops of such stages: bounds too loose (an input read at -2) or a
    // crash in its simplifier (simplify_let). They get no fused loops.
    bool reads_only_inputs = false;
    // How many outer loops may be fused into the parallel loop.
    int max_fused_parallel_loops() const;
    // True when every pure var is free, so the stage's loops may be tiled and reordered.
    bool tileable() const;
    // The loop box for a region of the Func: pure vars take the region's spans, RVars theirs.
    std::vector<Span> loop_box(const Region &func_region) const;
    // The loop var (index into loops) of the Func's pure dimension `pure_dim`, or -1 when no
    // pure var indexes it (an update writing an RVar or a constant there).
    int loop_of_pure(int pure_dim) const;
};

struct Node {
    std::string name;
    bool is_input = false, is_output = false;
    Halide::Internal::Function func; // undefined for inputs
    std::vector<std::string> args;
    int dims = 0;
    int bytes = 4;              // bytes per point (sum over tuple elements)
    std::vector<Stage> stages;  // empty for inputs
    std::vector<int> consumers; // nodes with a stage that loads this node (no duplicates)
    std::vector<int> producers;
    Region root; // region needed when computed at root, from the estimates
    // Per dimension: some consumer reads it at an index that loads data (a lookup table, a
    // histogram). `root` is then only a bound there; Halide may realize fewer points (it knows
    // value ranges).
    std::vector<bool> indexed_by_data;
    bool can_inline = false; // pure Func, not an output
};

class PipelineGraph {
  public:
    // Analyses the pipeline. Throws HarlError naming the Func/dimension for what HARL cannot
    // handle (missing estimates, extern stages, unbounded accesses).
    PipelineGraph(const std::vector<Halide::Internal::Function> &outputs, const Halide::Target &target);

    const std::vector<Node> &nodes() const { return nodes_; }
    const Node &node(int i) const { return nodes_.at(i); }
    int num_nodes() const { return (int)nodes_.size(); }
    const Halide::Target &target() const { return target_; }
    // Func nodes in the order decisions are made: consumers before producers.
    const std::vector<int> &decision_order() const { return decision_order_; }
    std::string describe() const;

  private:
    std::vector<Node> nodes_;
    std::vector<int> decision_order_; // the Funcs (not inputs), last node first
    Halide::Target target_;
};

} // namespace harl
