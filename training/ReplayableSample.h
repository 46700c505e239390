// Which stored samples this build can replay (harl-collect --refeaturize and --remeasure,
// harl-compare --dataset): their schedule's "// Decisions:" block is stored
// (ScheduleReplay.h) and their pipeline key is one this build still makes (PipelineScale.h).
// The others are counted by reason, with a few examples for the report.
#pragma once

#include "Dataset.h"
#include "PipelineScale.h"
#include "ScheduleReplay.h"

#include <string>
#include <vector>

namespace harl {

struct SkippedSamples {
    int no_decisions = 0;              // source blanked (older committed files)
    int not_rebuildable = 0;           // generator version or key no longer what this build makes
    std::vector<std::string> examples; // the first few problems, for the report

    // Counts the sample under `counter` (one of the above, or a caller's own) and keeps an
    // example of why.
    void note(int *counter, const Dataset::SourcedSample &s, const std::string &why) {
        (*counter)++;
        if (examples.size() < 5)
            examples.push_back(s.sample.pipeline + " candidate " + std::to_string(s.sample.candidate) + ": " +
                               why);
    }
};

// Whether this build can replay the sample; then `sp` names its pipeline. If not, the reason
// is counted in `skipped` (when given).
inline bool replayable(const Dataset::SourcedSample &s, SeedPipeline *sp, SkippedSamples *skipped) {
    if (decisions_block(s.source).empty()) {
        if (skipped) skipped->note(&skipped->no_decisions, s, "no schedule decisions stored");
        return false;
    }
    // The key names the generator version too.
    if (!rebuildable_key(s.sample.pipeline, (uint64_t)s.seed, sp)) {
        if (skipped)
            skipped->note(&skipped->not_rebuildable, s,
                          "this build makes another pipeline of seed " + std::to_string(s.seed));
        return false;
    }
    return true;
}

} // namespace harl
