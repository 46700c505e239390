// The per-stage feature vector shared by HARL's featurizer, its cost models, the data
// collector and the trainer. Changing the meaning or order of any entry requires bumping
// kFeatureLayoutVersion: weights files record the version they were trained with.
//
// Layout (version 1), one vector per scheduled (non-inlined) stage:
//   [0, kNumPipelineFeatures): properties of the algorithm, independent of the schedule
//   [kNumPipelineFeatures, kNumFeatures): properties of the stage in the (partial) schedule
// Counts are per point of the stage unless the name says "total"; bytes are bytes.
// accumulator_memory_ops: loads+stores of the stage's own value per point of an update (0 when
// the accumulator tile is register-resident: computed per tile of a consumer, tile covering the
// whole realization, inner loops unrolled).
// inlined_math_ops, inlined_div_ops, fused_multiply_adds: per point, counting the work of
// producers inlined into the stage (ops_per_point is their total over all kinds).
#pragma once

#include <array>
#include <cstdint>

namespace harl {

constexpr uint32_t kFeatureLayoutVersion = 1;

#define HARL_FEATURE_LIST(X)                                                                                 \
    /* pipeline features */                                                                                  \
    X(op_fadd)                                                                                               \
    X(op_fmul)                                                                                               \
    X(op_fdiv)                                                                                               \
    X(op_iadd)                                                                                               \
    X(op_imul)                                                                                               \
    X(op_idiv) X(op_cmp_select) X(op_math) X(op_cast) X(op_load) X(bytes_per_point) X(native_lanes)          \
        X(is_update) X(num_rvars) X(root_points) X(num_producers) /* schedule features */                    \
        X(computed_at) X(realizations) X(points_per_realization) X(points_total) X(redundancy)               \
            X(ops_per_point) X(vector_width) X(vector_utilization) X(parallel_tasks) X(parallel_efficiency)  \
                X(parallel_launches) X(loop_iterations_total) X(unrolled_body) X(dense_vector_loads)         \
                    X(strided_loads) X(broadcast_loads) X(scalar_loads) X(bytes_from_l2_total)               \
                        X(bytes_from_llc_total) X(bytes_from_dram_total) X(store_bytes_total)                \
                            X(allocation_bytes) X(accumulator_registers) X(innermost_working_set)            \
                                X(inner_tile_points) X(producers_computed_here) X(working_set_per_task)      \
                                    X(sliding_window_savings) X(accumulator_memory_ops) X(inlined_math_ops)  \
                                        X(inlined_div_ops) X(fused_multiply_adds)

enum FeatureIndex : int {
#define HARL_FEATURE_ENUM(name) F_##name,
    HARL_FEATURE_LIST(HARL_FEATURE_ENUM)
#undef HARL_FEATURE_ENUM
        kNumFeatures
};

constexpr int kNumPipelineFeatures = F_computed_at;

using StageFeatures = std::array<float, kNumFeatures>;

const char *feature_name(int index);

} // namespace harl
