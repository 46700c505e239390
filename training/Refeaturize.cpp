#include "Refeaturize.h"
#include "Autoscheduler.h"
#include "Errors.h"
#include "PipelineScale.h"
#include "ScheduleReplay.h"

#include <algorithm>

namespace harl {

namespace {

// Whether the new features agree with the stored ones on every entry both layouts have
// (stored bytes this build cannot read count as different).
bool same_on_common_entries(const std::vector<uint8_t> &stored, const std::vector<uint8_t> &fresh) {
    uint32_t old_layout = 0, new_layout = 0;
    std::vector<StageFeatures> a, b;
    try {
        a = decode_featurization(stored, &old_layout);
        b = decode_featurization(fresh, &new_layout);
    } catch (const HarlError &) {
        return false;
    }
    const int common = std::min(num_features_of_layout(old_layout), num_features_of_layout(new_layout));
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++) {
        if (!std::equal(a[i].begin(), a[i].begin() + common, b[i].begin())) return false;
    }
    return true;
}

} // namespace

RefeaturizeReport refeaturize_dataset(const std::string &in_path, Dataset &out) {
    out.merge_from(in_path);
    RefeaturizeReport rep;
    for (const Dataset::SourcedSample &s : out.sourced_samples()) {
        SeedPipeline sp;
        if (!replayable(s, &sp, &rep.skipped)) {
            out.delete_sample(s.sample);
            continue;
        }
        std::vector<uint8_t> fresh;
        try {
            RandomPipeline rp = pipeline_of(sp);
            Halide::Pipeline p(rp.output);
            fresh = refeaturize_schedule(p, Halide::Target(s.sample.target),
                                         Halide::MachineParams(s.sample.machine_params), s.source);
        } catch (const std::exception &e) {
            out.delete_sample(s.sample);
            rep.skipped.note(&rep.failed, s, e.what());
            continue;
        }
        if (!same_on_common_entries(s.sample.features, fresh)) rep.changed++;
        SampleRecord updated = s.sample;
        decode_featurization(fresh, &updated.layout_version);
        updated.features = std::move(fresh);
        out.set_features(updated);
        rep.refeaturized++;
    }
    return rep;
}

} // namespace harl
