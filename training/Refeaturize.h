// Refeaturize: gives a dataset's measured samples the features of this HARL's layout, by
// replaying each schedule's "// Decisions:" header on a freshly built copy of its random
// pipeline (refeaturize_schedule, ScheduleReplay.h). No schedule is searched or timed again.
//
// Layouts only ever append features, so every replay is checked against the features stored
// when the sample was measured: the entries both layouts have must match exactly. A sample
// whose replay differs, whose pipeline can no longer be rebuilt (another generator version) or
// whose source was blanked is left out of the output, and counted.
#pragma once

#include "Dataset.h"

#include <string>
#include <vector>

namespace harl {

struct RefeaturizeReport {
    int refeaturized = 0;              // written with the current layout
    int no_decisions = 0;              // source blanked (older committed files): left out
    int not_rebuildable = 0;           // generator version or key no longer what this build makes: left out
    int mismatched = 0;                // replay disagrees with the stored features: left out
    int failed = 0;                    // the replay threw: left out
    std::vector<std::string> examples; // the first few problems, for the report
};

// Copies `in_path` into `out` (which should be a new file) and refeaturizes every sample there.
RefeaturizeReport refeaturize_dataset(const std::string &in_path, Dataset &out);

} // namespace harl
