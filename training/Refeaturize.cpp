#include "Refeaturize.h"
#include "Autoscheduler.h"
#include "PipelineScale.h"
#include "ScheduleReplay.h"

#include <cstring>

namespace harl {

namespace {

// The per-stage rows of featurization bytes of any layout: node and stage ids, then floats.
struct FeatureRows {
    uint32_t layout = 0, stages = 0, per_stage = 0;
    const uint8_t *rows = nullptr;
    size_t row_bytes() const { return 8 + 4 * (size_t)per_stage; }
};

bool read_rows(const std::vector<uint8_t> &b, FeatureRows *r) {
    if (b.size() < 20 || std::memcmp(b.data(), "HARLFEAT", 8) != 0) return false;
    uint32_t hdr[3];
    std::memcpy(hdr, b.data() + 8, sizeof(hdr));
    r->layout = hdr[0];
    r->stages = hdr[1];
    r->per_stage = hdr[2];
    r->rows = b.data() + 20;
    return b.size() == 20 + r->row_bytes() * r->stages;
}

// Whether the new features agree with the stored ones on every entry both layouts have.
bool same_on_common_entries(const std::vector<uint8_t> &stored, const std::vector<uint8_t> &fresh) {
    FeatureRows a, b;
    if (!read_rows(stored, &a) || !read_rows(fresh, &b) || a.stages != b.stages) return false;
    const size_t common = 8 + 4 * (size_t)std::min(a.per_stage, b.per_stage);
    for (uint32_t i = 0; i < a.stages; i++) {
        if (std::memcmp(a.rows + i * a.row_bytes(), b.rows + i * b.row_bytes(), common) != 0) return false;
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
        int min_stages, max_stages;
        const bool layers = pipeline_scale_of((uint64_t)s.seed).layers;
        if (s.generator_version != (layers ? kLayersVersion : kGeneratorVersion) ||
            !rebuildable_key(s.sample.pipeline, (uint64_t)s.seed, &min_stages, &max_stages)) {
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
