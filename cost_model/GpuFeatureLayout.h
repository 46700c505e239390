// The per-stage feature vector of GPU schedules (GpuFeaturizer -> GPU cost models). It shares
// the StageFeatures array type with the CPU layout (FeatureLayout.h) so that CostModel, the
// dataset and the trainer handle both, but its entries mean other things: a weights file
// records which layout it was trained on (kGpuFeatureLayoutVersion), so CPU weights are never
// applied to GPU features or the other way round. Unused trailing entries are zero.
// Totals are over the whole pipeline run; "per_point" entries per point of the stage.
#pragma once

#include "FeatureLayout.h"

namespace harl {

constexpr uint32_t kGpuFeatureLayoutVersion = 0x101; // GPU layout, version 1

#define HARL_GPU_FEATURE_LIST(X)                                                                             \
    X(g_op_fadd)                                                                                             \
    X(g_op_fmul)                                                                                             \
    X(g_op_fdiv)                                                                                             \
    X(g_op_iadd)                                                                                             \
    X(g_op_imul)                                                                                             \
    X(g_op_idiv)                                                                                             \
    X(g_op_cmp_select)                                                                                       \
    X(g_op_math)                                                                                             \
    X(g_op_cast)                                                                                             \
    X(g_op_load)                                                                                             \
    X(g_bytes_per_point)                                                                                     \
    X(g_is_update)                                                                                           \
    X(g_num_rvars)                                                                                           \
    X(g_root_points)                                                                                         \
    X(g_mode)                                                                                                \
    X(g_points_total)                                                                                        \
    X(g_redundancy)                                                                                          \
    X(g_ops_per_point)                                                                                       \
    X(g_threads_per_block)                                                                                   \
    X(g_blocks)                                                                                              \
    X(g_thread_utilization)                                                                                  \
    X(g_warp_utilization)                                                                                    \
    X(g_occupancy)                                                                                           \
    X(g_waves)                                                                                               \
    X(g_global_bytes_total)                                                                                  \
    X(g_global_requests_total)                                                                               \
    X(g_coalescing)                                                                                          \
    X(g_shared_bytes_total)                                                                                  \
    X(g_register_loads_total)                                                                                \
    X(g_store_bytes_total)                                                                                   \
    X(g_accumulator_bytes_total)                                                                             \
    X(g_kernel_launches)                                                                                     \
    X(g_shared_bytes_per_block)                                                                              \
    X(g_registers_per_thread)                                                                                \
    X(g_host_ops_total)                                                                                      \
    X(g_transfer_bytes)

enum GpuFeatureIndex : int {
#define HARL_GPU_FEATURE_ENUM(name) G_##name,
    HARL_GPU_FEATURE_LIST(HARL_GPU_FEATURE_ENUM)
#undef HARL_GPU_FEATURE_ENUM
        kNumGpuFeatures
};
static_assert((int)kNumGpuFeatures <= (int)kNumFeaturesLayout6, "the GPU layout must fit in its vectors");

const char *gpu_feature_name(int index);

} // namespace harl
