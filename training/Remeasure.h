// Remeasure: times a dataset's schedules again on this machine, without searching. Each
// sample's schedule is rebuilt from the "// Decisions:" header stored with it (replay_decisions,
// ScheduleReplay.h) on a fresh copy of its random pipeline, and timed as harl-collect times its
// candidates. The new samples go into another file under the same pipeline keys and candidate
// numbers, with the machine name given and the stored features (the schedule is the same one).
//
// Two uses: how well two measurements of the same schedules agree on this machine
// (measurement_agreement.py OLD NEW: the ceiling of every ranking metric here), and labels for
// a new machine in a fraction of a collection's time (no searches, no duplicate schedules).
// Resumable: samples the output already holds for that machine are skipped.
#pragma once

#include "ChildProcessRunner.h"
#include "Dataset.h"
#include "ReplayableSample.h"

#include <functional>
#include <string>
#include <vector>

namespace harl {

struct RemeasureOptions {
    std::string machine;    // recorded with every new sample
    MeasureOptions measure; // as harl-collect measures
    int max_pipelines = 0;  // the first this many pipelines (by key) with a replayable sample; 0: all
};

struct RemeasureReport {
    int measured = 0;       // new samples, any status
    int failed = 0;         // of those, not ok (crashed, timed out, failed)
    int already = 0;        // the output held them: skipped (a resumed run)
    int replay_failed = 0;  // the decisions did not fit the rebuilt pipeline: skipped
    SkippedSamples skipped; // not replayable: skipped (and the examples of every problem)
};

// Copies the pipelines and schedules of `in_path` into `out` and measures every selected sample
// there. `stop` is polled between samples; `progress` gets (samples done, samples selected).
RemeasureReport remeasure_dataset(const std::string &in_path, Dataset &out, const RemeasureOptions &o,
                                  const std::function<bool()> &stop,
                                  const std::function<void(int, int)> &progress);

} // namespace harl
