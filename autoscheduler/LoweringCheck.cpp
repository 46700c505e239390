#include "LoweringCheck.h"
#include "ChildProcessRunner.h"
#include "Errors.h"

#include <algorithm>
#include <iostream>

namespace harl {
namespace {

MeasureResult lower_in_child(const PipelineGraph &g, const Halide::Pipeline &p, const Halide::Target &t,
                             const std::vector<Directive> &ds, double timeout_s) {
    MeasureOptions mo;
    mo.min_runs = mo.max_runs = 1;
    mo.target_seconds = 0;
    mo.timeout_seconds = timeout_s;
    Halide::Pipeline pipeline = p; // the child's copy of the Funcs: the parent's stay unscheduled
    return measure_in_child(
        [&] {
            apply_directives(g, ds);
            pipeline.compile_to_module(pipeline.infer_arguments(), "harl_lowering_check", t);
        },
        [] {}, mo);
}

bool fuses(const std::vector<Directive> &ds) {
    return std::any_of(ds.begin(), ds.end(), [](const Directive &d) { return d.op == Directive::Fuse; });
}

} // namespace

LoweringCheck check_lowering(const PipelineGraph &g, const Halide::Pipeline &p, const Halide::Target &t,
                             const ScheduleState &s, double timeout_s) {
    LoweringCheck out{make_directives(s), ""};
    const MeasureResult first = lower_in_child(g, p, t, out.directives, timeout_s);
    if (first.status != MeasureResult::Status::Crashed) return out;
    const std::string why = "Halide 14 crashed lowering HARL's schedule (" + first.message + ")";
    const std::string advice = ". Try another HARL_SEED or HARL_BEAM_SIZE, or HARL_COST_MODEL=analytic";
    if (!fuses(out.directives)) throw HarlError(why + ", which fuses no loops to leave out" + advice);
    std::vector<Directive> unfused = make_directives(s, false);
    const MeasureResult second = lower_in_child(g, p, t, unfused, timeout_s);
    if (second.status == MeasureResult::Status::Crashed) {
        throw HarlError(why + ", with and without fused loops (" + second.message + ")" + advice);
    }
    std::cerr << "HARL: warning: " << why << "; emitting it without fused loops\n";
    out.directives = std::move(unfused);
    out.note = "// " + why +
               "; emitted without fused loops (each parallel group runs its outermost loop in "
               "parallel).\n";
    return out;
}

} // namespace harl
