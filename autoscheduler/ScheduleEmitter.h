// ScheduleEmitter: turns a complete ScheduleState into a list of scheduling directives, then
// either applies them to the pipeline's Funcs or prints them as a C++ `.schedule.h`. Both come
// from the same list, so the emitted source reproduces exactly the applied schedule.
#pragma once

#include "ScheduleState.h"

#include <string>
#include <vector>

namespace harl {

struct Directive {
    enum Op {
        ComputeRoot,
        ComputeAt,
        StoreAt,
        Split,
        Reorder,
        Fuse,
        Parallel,
        Vectorize,
        Unroll,
        GpuBlocks,
        GpuThreads,
        Unscheduled, // an update left as Halide's default on purpose (Stage::unscheduled())
        BoundStorage // Func::bound_storage(vars[0], factor): a constant-sized buffer (StorageBounds.h)
    };
    Directive(Op o, std::vector<std::string> v = {}, int64_t f = 0, bool guard = false)
        : op(o), vars(std::move(v)), rvar(vars.size(), false), factor(f), guard_tail(guard) {}
    Op op;
    int node = -1;
    int stage = 0;
    std::vector<std::string> vars; // loop variable names the directive names
    std::vector<bool> rvar;        // per var: is it an RVar
    int64_t factor = 0;            // split factor
    bool guard_tail = false;       // split with TailStrategy::GuardWithIf (else Auto)
    int target_node = -1;          // ComputeAt / StoreAt: the consumer Func
    int target_stage = -1;         // ... and its stage whose loop is meant (-1: Halide's default)
};

// With fuse_loops false, no stage fuses loops: each runs the outermost loop of its parallel group
// in parallel, and producers computed at the group go to its innermost part (LoweringCheck.h).
std::vector<Directive> make_directives(const ScheduleState &s, bool fuse_loops = true);
// Halide warns about every update left without a directive in a Func whose other stages have
// some ("you may have forgotten to schedule it"). HARL leaves such updates as they are on
// purpose (a serial scatter, say), so each gets an Unscheduled directive, unless Halide already
// counts it as scheduled (rfactor marks the update it splits). Called by make_directives and
// make_gpu_directives; idempotent.
void mark_unscheduled_updates(const PipelineGraph &g, std::vector<Directive> *ds);
void apply_directives(const PipelineGraph &g, const std::vector<Directive> &ds);
// C++ statements applying the directives, in terms of `pipeline` (a Halide::Pipeline): the body
// Halide's generator places inside the `apply_schedule_<name>(pipeline, target)` it writes.
std::string emit_schedule_source(const PipelineGraph &g, const std::vector<Directive> &ds,
                                 const std::string &header_comment);

} // namespace harl
