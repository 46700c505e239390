#pragma once
// StorageBounds: puts small buffers that Halide would allocate on the heap inside loops onto
// the stack.
//
// A Func computed inside a consumer's tile loop is sized by bounds inference for each tile. Where
// the consumer's split guards its tail (TailStrategy::GuardWithIf, which HARL uses for every
// split but an output's), the region of the last tile is clamped, so the extent of the
// allocation is an expression such as `min(t, 15) + 1`, not a constant. Halide 14 gives only
// constant-sized buffers of at most 16 KB a stack slot; it rounds a varying size up to a
// constant itself only below 128 bytes (BoundSmallAllocations). Every other such buffer is a
// halide_malloc and a halide_free per iteration of the loop: in one random pipeline 18,688 pairs
// per run, 2.5x the runtime of the same schedule without them. The cost models assume these
// buffers are on the stack (Featurizer: a region of constant extent, at most 16 KB).
//
// This pass lowers the scheduled pipeline (no LLVM code generation), finds each allocation of a
// Func computed inside a loop whose size is not a constant, and bounds each of its extents by a
// constant it proves over the enclosing lets and loops: the Featurizer's extent (or that rounded
// up to whole vectors) where Halide's simplifier proves it, else Halide's find_constant_bound on
// the extent, also with sums and constant factors distributed into its mins and maxes (so that a
// tile's base cancels). Halide lowers the body of a parallel loop into a closure, a function that
// loads the values it uses from a struct its caller fills: the proofs inside it use the caller's
// lets and bounds for those values (a tail's width such as `channels % 16` is worked out once, in
// the caller). `bound_storage(dim, bound)` then gives the Func a constant-sized buffer.
// Halide checks at run time that each region fits its bound: the pass lowers the bounded schedule
// again and proves every such check the same way (through the lets Halide lifts conditions into),
// and a Func with a check it cannot prove (a
// constant-sized allocation in another loop partition can be larger) keeps its heap buffer, so
// no check can fail. Funcs whose extents cannot all be bounded, or whose bounded buffer would
// exceed the stack limit, are left as they were.

#include "PipelineGraph.h"
#include "ScheduleEmitter.h"
#include "ScheduleState.h"

#include "Halide.h"

#include <map>
#include <vector>

namespace harl {

// Per Func computed inside a loop (by node): the extent of each dimension of the region the
// Featurizer assumes it allocates, where all are constant (else empty). The pass tries these
// first as bounds: they hold wherever Halide's simplifier proves them.
using StorageHints = std::map<int, std::vector<int64_t>>;
StorageHints storage_hints(const ScheduleState &s);

// The BoundStorage directives for the Funcs of `g`, scheduled by `applied` (already applied to
// the Funcs of `p`), that the pass above puts on the stack, before their checks are proven (only
// storage_bound_directives_in_child proves them). Lowers `p` for `t` in this process, unless no
// Func is a candidate; `*lowered` (if given) says whether it did.
std::vector<Directive> storage_bound_directives(const PipelineGraph &g, const Halide::Pipeline &p,
                                                const Halide::Target &t,
                                                const std::vector<Directive> &applied,
                                                const StorageHints &hints, bool *lowered = nullptr);

struct StorageBoundsResult {
    std::vector<Directive> bounds;
    // Whether the child lowered the schedule as given (without the bounds) and finished: that
    // schedule does not crash Halide's lowering, so the plugin needs no separate LoweringCheck.
    bool lowered = false;
};

// The same, computed in a forked child (ChildProcessRunner.h) from `ds` applied to the child's
// copy of the Funcs, so that the caller's Funcs stay as they are and a Halide crash while
// lowering cannot take the caller down, and kept only for the Funcs whose checks in the bounded
// schedule are proven. No bounds when the child fails or takes longer than `timeout_s`.
StorageBoundsResult storage_bound_directives_in_child(const PipelineGraph &g, const Halide::Pipeline &p,
                                                      const Halide::Target &t,
                                                      const std::vector<Directive> &ds,
                                                      const StorageHints &hints, double timeout_s);

// Appends those bounds to `*ds` (so that the emitted schedule source carries them), then applies
// `*ds` to the Funcs of `g`.
void apply_directives_and_storage_bounds(const PipelineGraph &g, const Halide::Pipeline &p,
                                         const Halide::Target &t, const ScheduleState &s,
                                         std::vector<Directive> *ds, double timeout_s = 60);

} // namespace harl
