// The per-stage feature vector shared by HARL's featurizer, its cost models, the data
// collector and the trainer. Changing the meaning or order of any entry requires bumping
// kFeatureLayoutVersion: weights files record the version they were trained with.
//
// Layouts only ever append entries: version 2 is version 1's kNumFeaturesLayout1 entries plus
// the ones after them, version 3 version 2's kNumFeaturesLayout2 plus three, version 4 version
// 3's kNumFeaturesLayout3 plus one, version 5 version 4's kNumFeaturesLayout4 plus three,
// version 6 version 5's kNumFeaturesLayout5 plus four, version 7 version 6's kNumFeaturesLayout6
// plus one, version 8 version 7's kNumFeaturesLayout7 plus one, so weights and samples of an older
// layout use the first num_features_of_layout() entries of a newer vector, and stored samples
// can be given the new entries without measuring again (harl-collect --refeaturize).
//
// Layout (version 8), one vector per scheduled (non-inlined) stage:
//   [0, kNumPipelineFeatures): properties of the algorithm, independent of the schedule
//   [kNumPipelineFeatures, kNumFeatures): properties of the stage in the (partial) schedule
// Counts are per point of the stage unless the name says "total"; bytes are bytes.
// accumulator_memory_ops: loads+stores of the stage's own value per point of an update (0 when
// the accumulator tile is register-resident: computed per tile of a consumer, tile covering the
// whole realization, inner loops unrolled).
// inlined_math_ops, inlined_div_ops, fused_multiply_adds: per point, counting the work of
// producers inlined into the stage (ops_per_point is their total over all kinds).
// Appended in version 2 (per point, after register reuse, like the other load counts):
// short_stride_loads / gather_loads: vector loads whose lanes lie 2-8 elements apart in the
// producer's storage (a few cache lines, shuffles) / further apart or not affine (one load per
// lane); strided_loads is their sum. store_stride: elements between the lanes of the stage's
// own vector stores (0 unvectorised, 1 dense). irregular_loads: loads with a non-affine index
// (clamped boundary conditions, data-dependent lookups). tile_padding: points computed per
// point needed because tiles do not divide the extents (1 = none). scalar_dense_inner_extent:
// for a stage HARL does not vectorise, the iterations of its innermost loop when that loop
// walks the stage's storage densely (LLVM's loop vectoriser may then vectorise it), else 0.
// Appended in version 3: line_bytes_from_{l2,llc,dram}_total: the bytes_from_*_total traffic
// counted in whole 64-byte lines (a load walking down a column pulls a line per element, which
// the element-counted entries see as 4 bytes), where a loop level that fits its cache reloads
// per iteration only what the iteration before it did not leave, and where a level's lines
// crowding some L1 or L2 sets beyond their ways do not fit (rows 4 KB apart all land in one
// L1 set). The analytic model uses these; the older entries keep their meaning for weights
// trained on them.
// Appended in version 4: accumulator_conflict_lines_total: of the L2 traffic above, the
// accumulator lines a reduction's block (the loops inside its RVar loops) reloads on every RVar
// iteration because they crowd some L1 sets beyond their ways (rows 4 KB apart). Lines that are
// stored to and evicted dirty stall the stores behind them: measured, about an L2 latency per
// line, where misses of loads overlap each other; the analytic model charges them so.
// Appended in version 5: scalar_inner_gather_loads: for an unvectorised stage whose innermost
// loop runs along its storage's dense dimension (scalar_dense_inner_extent > 0), the loads per
// point whose elements are not adjacent along that loop (or move irregularly with it):
// LLVM's loop vectoriser has to gather them lane by lane (the analytic model charges them as
// explicit gathers). inner_reduction_extent: for an unvectorised update whose innermost loop is
// an RVar its stores do not move with, that loop's extent (its accumulator stays in a register
// and LLVM vectorises the reduction, which Halide lets it reassociate); 0 otherwise.
// inner_reduction_gather_loads: that loop's loads per point whose elements are not adjacent
// along it. (Both gather counts took loads up to 8 elements apart as vectorisable until the
// eighth Zen 4 session; LLVM gathers those too.)
// Appended in version 6: clamped_lane_loads: dense vector loads per point whose lanes pass
// through a clamp (a boundary condition along the vectorised dimension, in the Func read or in
// an inlined one): a clamped ramp, which Halide loads as a gather unless loop partitioning
// proves the clamp away. border_fraction: the fraction of the stage's points in the first and
// last iterations of the outermost loops over dimensions whose clamps cut the index range (a
// stencil's halo beyond a repeat_edge'd image): Halide partitions those loops, and keeps every
// clamp in their border iterations (whole tiles, when the stage is computed inside a
// consumer's tiles). border_gather_loads: clamped_lane_loads times border_fraction, the loads
// that stay gathers. reduction_chain_steps: for an update, the iterations of its RVar loops
// around its block of accumulators (the length of each accumulator's dependency chain before
// it is stored); 0 for pure definitions.
// Appended in version 7: shared_line_stores_total: the stage's store instructions (an update's
// accumulator stores on every step unless its tile stays in registers) that land in cache
// lines a neighbouring task of its parallel loop also writes, because a task's contiguous run
// of the storage is not a whole number of 64-byte lines, or starts off a line boundary in rows
// that are not (false sharing): the line moves between the cores on each such store while both
// tasks run.
// Appended in version 8: heap_allocations_total (stage 0 only): the buffers of the stage's Func
// that Halide allocates on the heap (halide_malloc and halide_free) per run of the pipeline.
// Halide puts a buffer on the stack when its size is a compile-time constant of at most 16 KB;
// a region spanning a runtime extent (a whole output dimension, an unsplit loop over one), or
// read through a clamp or a division, is sized when the pipeline runs, and a Func computed
// inside a loop then allocates and frees it in every iteration. (Unseen layer 9700010, a
// max pool: per-Func profiles put 60-86% of two schedules' time in halide_malloc/free, 8,200
// and 65,600 allocations of 64-512 bytes per run; they ran 0.44 and 0.94 ms against 0.22 ms
// with the buffer on the stack.)
#pragma once

#include <array>
#include <cstdint>

namespace harl {

constexpr uint32_t kFeatureLayoutVersion = 8;

// Halide puts a buffer of a constant size up to this many bytes on the stack, a larger one or
// one sized at run time on the heap (heap_allocations_total).
constexpr double kHalideStackBytes = 16 * 1024;

// clang-format off
#define HARL_FEATURE_LIST(X) \
    /* pipeline features */ \
    X(op_fadd) \
    X(op_fmul) \
    X(op_fdiv) \
    X(op_iadd) \
    X(op_imul) \
    X(op_idiv) \
    X(op_cmp_select) \
    X(op_math) \
    X(op_cast) \
    X(op_load) \
    X(bytes_per_point) \
    X(native_lanes) \
    X(is_update) \
    X(num_rvars) \
    X(root_points) \
    X(num_producers) \
    /* schedule features */ \
    X(computed_at) \
    X(realizations) \
    X(points_per_realization) \
    X(points_total) \
    X(redundancy) \
    X(ops_per_point) \
    X(vector_width) \
    X(vector_utilization) \
    X(parallel_tasks) \
    X(parallel_efficiency) \
    X(parallel_launches) \
    X(loop_iterations_total) \
    X(unrolled_body) \
    X(dense_vector_loads) \
    X(strided_loads) \
    X(broadcast_loads) \
    X(scalar_loads) \
    X(bytes_from_l2_total) \
    X(bytes_from_llc_total) \
    X(bytes_from_dram_total) \
    X(store_bytes_total) \
    X(allocation_bytes) \
    X(accumulator_registers) \
    X(innermost_working_set) \
    X(inner_tile_points) \
    X(producers_computed_here) \
    X(working_set_per_task) \
    X(sliding_window_savings) \
    X(accumulator_memory_ops) \
    X(inlined_math_ops) \
    X(inlined_div_ops) \
    X(fused_multiply_adds) \
    /* appended in layout 2 */ \
    X(short_stride_loads) \
    X(gather_loads) \
    X(store_stride) \
    X(irregular_loads) \
    X(tile_padding) \
    X(scalar_dense_inner_extent) \
    /* appended in layout 3 */ \
    X(line_bytes_from_l2_total) \
    X(line_bytes_from_llc_total) \
    X(line_bytes_from_dram_total) \
    /* appended in layout 4 */ \
    X(accumulator_conflict_lines_total) \
    /* appended in layout 5 */ \
    X(scalar_inner_gather_loads) \
    X(inner_reduction_extent) \
    X(inner_reduction_gather_loads) \
    /* appended in layout 6 */ \
    X(clamped_lane_loads) \
    X(border_fraction) \
    X(border_gather_loads) \
    X(reduction_chain_steps) \
    /* appended in layout 7 */ \
    X(shared_line_stores_total) \
    /* appended in layout 8 */ \
    X(heap_allocations_total)
// clang-format on

enum FeatureIndex : int {
#define HARL_FEATURE_ENUM(name) F_##name,
    HARL_FEATURE_LIST(HARL_FEATURE_ENUM)
#undef HARL_FEATURE_ENUM
        kNumFeatures
};

constexpr int kNumPipelineFeatures = F_computed_at;
constexpr int kNumFeaturesLayout1 = F_short_stride_loads;
constexpr int kNumFeaturesLayout2 = F_line_bytes_from_l2_total;
constexpr int kNumFeaturesLayout3 = F_accumulator_conflict_lines_total;
constexpr int kNumFeaturesLayout4 = F_scalar_inner_gather_loads;
constexpr int kNumFeaturesLayout5 = F_clamped_lane_loads;
constexpr int kNumFeaturesLayout6 = F_shared_line_stores_total;
constexpr int kNumFeaturesLayout7 = F_heap_allocations_total;

// Entries a vector of this layout version has (a prefix of StageFeatures): kNumFeatures for
// the current CPU layout, fewer for older CPU layouts and the GPU layout; 0 if unknown.
int num_features_of_layout(uint32_t layout_version);

using StageFeatures = std::array<float, kNumFeatures>;

const char *feature_name(int index);

} // namespace harl
