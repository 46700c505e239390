#include "GpuValidity.h"
#include "../Errors.h"

#include <sstream>

namespace harl {

namespace {
int64_t words(int bytes) {
    return std::max<int64_t>(1, (bytes + 3) / 4);
}
} // namespace

KernelResources kernel_resources(const GpuSchedule &s, int node, int stage) {
    const PipelineGraph &g = s.graph();
    const Node &n = g.node(node);
    const GpuStageChoice &c = s.choice(node).stages.at(stage);
    HARL_ASSERT(c.mode == GpuStageChoice::Kernel, n.stages[stage].name << " is not a kernel");
    const Stage &st = n.stages[stage];
    std::vector<Span> box = st.loop_box(n.root);
    KernelResources r;
    r.threads_dim = {c.threads_x, c.threads_y, 1};
    r.threads = c.threads();
    r.grid = gpu_grid(st, c, box);
    // Registers: addressing and loop state, the thread's tile of results (accumulators of
    // updates live across the reduction), and producers computed per thread.
    int64_t tile = c.per_thread_x * c.per_thread_y;
    r.registers_per_thread = 16 + tile * words(n.bytes) * (n.stages.size() > 1 ? 2 : 1);
    std::vector<Span> block = gpu_tile_box(st, c, box, false);
    std::vector<Span> thread = gpu_tile_box(st, c, box, true);
    for (int p : n.producers) {
        if (g.node(p).is_input || !s.decided(p)) continue;
        const GpuFuncChoice &pc = s.choice(p);
        if (pc.at_node != node || pc.at_stage != stage) continue;
        if (pc.placement == GpuPlacement::Shared) {
            r.shared_bytes += region_points(gpu_footprint(g, st, p, block)) * g.node(p).bytes;
            for (const auto &ps : pc.stages) {
                r.threads_dim[0] = std::max(r.threads_dim[0], ps.threads_x);
                r.threads_dim[1] = std::max(r.threads_dim[1], ps.threads_y);
            }
        } else if (pc.placement == GpuPlacement::Register) {
            r.registers_per_thread += region_points(gpu_footprint(g, st, p, thread)) * words(g.node(p).bytes);
        }
    }
    r.threads = std::max(r.threads, r.threads_dim[0] * r.threads_dim[1]);
    return r;
}

std::string kernel_violation(const GpuSchedule &s, int node, int stage) {
    const CudaLimits &L = s.target().gpu;
    KernelResources r = kernel_resources(s, node, stage);
    std::ostringstream os;
    const std::string &name = s.graph().node(node).stages[stage].name;
    if (r.threads > L.max_threads_per_block) {
        os << name << ": " << r.threads << " threads per block > " << L.max_threads_per_block;
    } else if (r.threads_dim[0] > L.max_block_dim[0] || r.threads_dim[1] > L.max_block_dim[1]) {
        os << name << ": block " << r.threads_dim[0] << "x" << r.threads_dim[1] << " exceeds "
           << L.max_block_dim[0] << "x" << L.max_block_dim[1];
    } else if (r.grid[0] > L.max_grid_dim[0] || r.grid[1] > L.max_grid_dim[1] ||
               r.grid[2] > L.max_grid_dim[2]) {
        os << name << ": grid " << r.grid[0] << "x" << r.grid[1] << "x" << r.grid[2]
           << " exceeds the grid limits";
    } else if (r.shared_bytes > L.shared_bytes_per_block) {
        os << name << ": " << r.shared_bytes << " bytes of shared memory per block > "
           << L.shared_bytes_per_block;
    } else if (r.registers_per_thread > L.max_registers_per_thread) {
        os << name << ": about " << r.registers_per_thread << " registers per thread > "
           << L.max_registers_per_thread;
    } else if (r.registers_per_thread * r.threads > L.registers_per_block) {
        os << name << ": about " << r.registers_per_thread * r.threads << " registers per block > "
           << L.registers_per_block;
    }
    return os.str();
}

std::string decision_violation(const GpuSchedule &s, int node) {
    const GpuFuncChoice &c = s.choice(node);
    if (c.placement == GpuPlacement::Inline) return "";
    if (c.placement == GpuPlacement::Root) {
        for (size_t si = 0; si < c.stages.size(); si++) {
            if (c.stages[si].mode != GpuStageChoice::Kernel) continue;
            std::string v = kernel_violation(s, node, (int)si);
            if (!v.empty()) return v;
        }
        return "";
    }
    return kernel_violation(s, c.at_node, c.at_stage);
}

std::string schedule_violations(const GpuSchedule &s) {
    std::string all;
    for (int n : s.graph().decision_order()) {
        const GpuFuncChoice &c = s.choice(n);
        if (c.placement != GpuPlacement::Root) continue;
        for (size_t si = 0; si < c.stages.size(); si++) {
            if (c.stages[si].mode != GpuStageChoice::Kernel) continue;
            std::string v = kernel_violation(s, n, (int)si);
            if (!v.empty()) all += v + "\n";
        }
    }
    return all;
}

} // namespace harl
