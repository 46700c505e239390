// GpuValidity: whether the kernels of a GPU schedule can launch on the target (TargetModel):
// threads per block and per block dimension, grid dimensions, shared memory per block (the
// producers staged per block), and registers (per thread and per block, estimated from the
// register tiles and the producers kept per thread). Candidates are checked before they are
// scored, so invalid ones never reach the cost model, the measurements or the training data.
#pragma once

#include "GpuSchedule.h"

#include <string>

namespace harl {

struct KernelResources {
    int64_t threads = 1;
    std::array<int64_t, 3> threads_dim{1, 1, 1};
    std::array<int64_t, 3> grid{1, 1, 1};
    int64_t shared_bytes = 0;
    int64_t registers_per_thread = 0;
};

// The resources of the kernel of stage `stage` of root Func `node` (mode Kernel).
KernelResources kernel_resources(const GpuSchedule &s, int node, int stage);
// Why that kernel cannot launch on the target, or "" when it can.
std::string kernel_violation(const GpuSchedule &s, int node, int stage);
// Why the kernels affected by `node`'s decision cannot launch ("" when they can): its own
// kernels when it is a root, else the consumer kernel it is placed in.
std::string decision_violation(const GpuSchedule &s, int node);
// Every violation of a complete schedule, one line each ("" when it is valid).
std::string schedule_violations(const GpuSchedule &s);

} // namespace harl
