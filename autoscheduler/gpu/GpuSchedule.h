// GpuSchedule: HARL's GPU schedule of a pipeline as an immutable value (the GPU counterpart of
// ScheduleState). Each Func is inlined, a kernel of its own (compute_root: pure vars mapped to
// blocks and threads, every definition a kernel), staged in shared memory per block of its
// consumer's kernel (compute_at the innermost block loop; its loops run on the block's
// threads), or computed per thread in registers (compute_at the innermost thread loop; serial).
// Choices are shared, never-mutated pointers, so search states share their common decisions.
//
// Loops of a kernel stage, innermost first:
//   [x_r, y_r]  points per thread (register tile; x_i = x_r * threads_x + x_t, so neighbouring
//               threads touch neighbouring elements: coalesced)
//   [RVars]     serial in each thread (each thread owns its output points: no races)
//   [x_t, y_t]  gpu_threads        [x_o, y_o, z] gpu_blocks (z fuses every other pure var)
#pragma once

#include "../PipelineGraph.h"
#include "../TargetModel.h"

#include <memory>
#include <string>
#include <vector>

namespace harl {

struct GpuStageChoice {
    enum Mode {
        Kernel,  // a kernel: blocks and threads over the pure vars (root Funcs)
        Threads, // inside the consumer's block: pure vars spread over the block's threads
        Serial,  // inside one thread of the consumer: plain serial loops
        Host     // left on the CPU (stages whose pure vars are not all free, e.g. scans)
    };
    Mode mode = Kernel;
    int dim_x = -1, dim_y = -1;                 // Stage::loops indices of the thread x / y vars (-1 none)
    int64_t threads_x = 1, threads_y = 1;       // threads per block along them
    int64_t per_thread_x = 1, per_thread_y = 1; // points per thread along them (Kernel mode)
    int64_t threads() const { return threads_x * threads_y; }
};

enum class GpuPlacement { Inline, Root, Shared, Register };

struct GpuFuncChoice {
    GpuPlacement placement = GpuPlacement::Root;
    int at_node = -1, at_stage = -1; // consumer and its stage (Shared / Register)
    std::vector<GpuStageChoice> stages;
};

class GpuSchedule {
  public:
    GpuSchedule(const PipelineGraph &g, const TargetModel &tm);
    const PipelineGraph &graph() const { return *graph_; }
    const TargetModel &target() const { return *tm_; }
    int num_decided() const { return num_decided_; }
    bool complete() const { return num_decided_ == (int)graph_->decision_order().size(); }
    int next_node() const { return complete() ? -1 : graph_->decision_order()[num_decided_]; }
    bool decided(int node) const { return (bool)choices_.at(node); }
    // The decision, or the default (a root kernel with a plain tiling) when undecided.
    const GpuFuncChoice &choice(int node) const;
    GpuSchedule with(int node, std::shared_ptr<const GpuFuncChoice> c) const;
    std::string describe() const;

  private:
    const PipelineGraph *graph_;
    const TargetModel *tm_;
    std::vector<std::shared_ptr<const GpuFuncChoice>> choices_;
    // The choices of undecided Funcs, the same for every state of a search: shared, so that
    // copying a state copies one vector of the graph's size (as ScheduleState does).
    std::shared_ptr<const std::vector<std::shared_ptr<const GpuFuncChoice>>> defaults_;
    int num_decided_ = 0;
};

// The loop box of one block (or, with per_thread, one thread) of a kernel-mode stage whose
// realization is `box`: thread dims cover their tile, other pure vars one point, RVars all.
std::vector<Span> gpu_tile_box(const Stage &st, const GpuStageChoice &c, const std::vector<Span> &box,
                               bool per_thread);
// Blocks of a kernel-mode stage over `box`, per grid dimension (x, y, z).
std::array<int64_t, 3> gpu_grid(const Stage &st, const GpuStageChoice &c, const std::vector<Span> &box);
// The region of `producer` that stage `st` needs over loop box `box`.
Region gpu_footprint(const PipelineGraph &g, const Stage &st, int producer, const std::vector<Span> &box);
// A plain kernel mapping: thread x over the innermost free pure var (up to 32 threads * ...),
// thread y over the next, or Host when the stage cannot be mapped.
GpuStageChoice default_gpu_stage(const Stage &st, const std::vector<Span> &box, const TargetModel &tm);
// Whether a stage's loops may be mapped to GPU blocks and threads.
bool gpu_mappable(const Stage &st);

} // namespace harl
