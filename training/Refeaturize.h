// Refeaturize: gives a dataset's measured samples the features of this HARL's layout, by
// replaying each schedule's "// Decisions:" header on a freshly built copy of its random
// pipeline (refeaturize_schedule, ScheduleReplay.h). No schedule is searched or timed again.
//
// Every replay is checked: the replayed schedule must describe itself exactly as the stored
// decisions do (replay_decisions). Layouts only ever append features, and the entries both
// layouts have differ only where the featurizer was corrected since: those samples are counted.
// A sample whose replay fails, whose pipeline can no longer be rebuilt (another generator
// version) or whose source was blanked is left out of the output, and counted.
#pragma once

#include "Dataset.h"
#include "ReplayableSample.h"

#include <string>
#include <vector>

namespace harl {

struct RefeaturizeReport {
    int refeaturized = 0;   // written with the current layout
    int changed = 0;        // refeaturized, with entries of the stored layout changed too
    int failed = 0;         // the replay threw: left out
    SkippedSamples skipped; // not replayable: left out (and the examples of every problem)
};

// Copies `in_path` into `out` (which should be a new file) and refeaturizes every sample there.
RefeaturizeReport refeaturize_dataset(const std::string &in_path, Dataset &out);

} // namespace harl
