#include "Remeasure.h"
#include "Autoscheduler.h"
#include "Errors.h"
#include "HostTarget.h"
#include "MeasureRealize.h"
#include "RandomPipeline.h"

#include <set>

namespace harl {

namespace {

// The sample timed again: its schedule replayed on a fresh copy of its pipeline.
SampleRecord measure_again(const Dataset::SourcedSample &s, const SeedPipeline &sp,
                           const RemeasureOptions &o) {
    const Halide::Target target(s.sample.target);
    if (!(runnable_here(target) == target)) {
        throw HarlError("its target " + s.sample.target +
                        " has features this CPU cannot run: remeasure on a machine that can");
    }
    RandomPipeline rp = pipeline_of(sp);
    Halide::Pipeline p(rp.output);
    const Halide::MachineParams mp(s.sample.machine_params);
    {
        SharedTimingLock busy(o.measure.exclusive_lock_path); // not while another process times
        apply_stored_schedule(p, target, mp, s.source);
    }
    Halide::Buffer<float> output(rp.output_size);
    const MeasureResult m = measure_realize(p, target, output, o.measure);
    SampleRecord r = s.sample; // same schedule, same features
    r.machine = o.machine;
    set_measurement(m, &r);
    return r;
}

} // namespace

RemeasureReport remeasure_dataset(const std::string &in_path, Dataset &out, const RemeasureOptions &o,
                                  const std::function<bool()> &stop,
                                  const std::function<void(int, int)> &progress) {
    HARL_ASSERT(!o.machine.empty(), "remeasure_dataset needs the machine name to record");
    RemeasureReport rep;
    std::vector<Dataset::SourcedSample> all = Dataset(in_path).sourced_samples(); // by pipeline
    out.merge_from(in_path, /*with_samples=*/false);
    // Select: replayable samples of the first max_pipelines pipelines that have one.
    struct Selected {
        const Dataset::SourcedSample *s;
        SeedPipeline sp;
    };
    std::vector<Selected> selected;
    std::set<std::string> pipelines;
    for (const auto &s : all) {
        SeedPipeline sp;
        if (!replayable(s, &sp, &rep.skipped)) continue;
        if (!pipelines.count(s.sample.pipeline)) {
            if (o.max_pipelines > 0 && (int)pipelines.size() == o.max_pipelines) continue;
            pipelines.insert(s.sample.pipeline);
        }
        selected.push_back({&s, sp});
    }
    int done = 0;
    for (const Selected &sel : selected) {
        if (stop()) break;
        const Dataset::SourcedSample &s = *sel.s;
        if (out.has_sample(s.sample.pipeline, s.sample.candidate, o.machine)) {
            rep.already++;
        } else {
            SampleRecord r;
            try {
                r = measure_again(s, sel.sp, o);
            } catch (const std::exception &e) {
                rep.skipped.note(&rep.replay_failed, s, e.what());
                progress(++done, (int)selected.size());
                continue;
            }
            if (stop()) break; // interrupted mid-measurement: the child was killed; redo it later
            out.record_sample(r);
            rep.measured++;
            if (r.status != "ok") rep.failed++;
        }
        progress(++done, (int)selected.size());
    }
    return rep;
}

} // namespace harl
