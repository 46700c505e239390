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
    auto drop = [&](const Dataset::SourcedSample &s, int *counter, const std::string &why) {
        out.delete_sample(s.sample);
        (*counter)++;
        if (rep.examples.size() < 5)
            rep.examples.push_back(s.sample.pipeline + " candidate " + std::to_string(s.sample.candidate) +
                                   ": " + why);
    };
    for (const Dataset::SourcedSample &s : out.sourced_samples()) {
        if (decisions_block(s.source).empty()) {
            drop(s, &rep.no_decisions, "no schedule decisions stored");
            continue;
        }
        int min_stages, max_stages; // the key names the generator version too
        if (!rebuildable_key(s.sample.pipeline, (uint64_t)s.seed, &min_stages, &max_stages)) {
            drop(s, &rep.not_rebuildable,
                 "this build makes another pipeline of seed " + std::to_string(s.seed));
            continue;
        }
        std::vector<uint8_t> fresh;
        try {
            RandomPipeline rp = pipeline_of_seed((uint64_t)s.seed, min_stages, max_stages);
            Halide::Pipeline p(rp.output);
            fresh = refeaturize_schedule(p, Halide::Target(s.sample.target),
                                         Halide::MachineParams(s.sample.machine_params), s.source);
        } catch (const std::exception &e) {
            drop(s, &rep.failed, e.what());
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
