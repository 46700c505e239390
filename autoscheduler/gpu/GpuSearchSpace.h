// GpuSearchSpace: the GPU decisions for one Func given its consumers' decisions: inline, a root
// kernel (thread-block shapes, points per thread, which pure vars map to thread x / y), staged
// in shared memory per block of its consumer's kernel, or computed per thread in registers.
//
// Two ways to propose kernel shapes:
//   Valid (default, "validity-driven initialisation"): shapes are drawn from the region the
//     target permits: warp-multiple thread counts within the block limits, thread x a multiple
//     of the warp along the innermost var (coalesced), register tiles that fit the register file
//     at that block size, grids within their limits.
//   Naive: every dimension drawn independently from powers of two, as an unconstrained tuner
//     would (kept to measure how much the constraints save).
// Either way every proposal is checked (GpuValidity) before it is returned: invalid proposals
// are counted in GpuSpaceStats and dropped.
#pragma once

#include "GpuSchedule.h"

#include <memory>
#include <random>
#include <vector>

namespace harl {

enum class GpuInit { Valid, Naive };

struct GpuSpaceStats {
    int64_t proposed = 0, invalid = 0;
};

std::vector<std::shared_ptr<const GpuFuncChoice>> gpu_candidates(const GpuSchedule &s, int node, GpuInit init,
                                                                 int max_candidates, std::mt19937_64 &rng,
                                                                 GpuSpaceStats *stats);

} // namespace harl
