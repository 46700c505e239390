// MeasuredTuner: autotuning with real measurements (HARL_MEASURE=N candidates), by one of three
// strategies over the same search space, the same measurer and the same budget:
//   rl      - HARL: the beam search's final beam is measured first; then RlRefiner episodes from
//             the best and the second-best measured schedules propose candidates; the
//             `batch` most promising unmeasured ones (by the online-corrected cost model) are
//             compiled and timed; measured speedups are the episodes' terminal rewards for the
//             policies; the cost model is refitted on every measurement (CorrectedCostModel);
//             exploration adapts to whether measurements improve;
//   random  - random legal schedules (every decision random), measured in order;
//   dropout - greedy schedules with each candidate dropped at random, ranked by the corrected
//             cost model, the best `batch` of each round measured (how Adams2019 autotunes).
// With `rl` the first measurement is the beam-search schedule and the result is the fastest
// measured schedule, so it is never slower than the beam search's (as measured). The baselines
// start from nothing, as they would on their own (the beam schedule is run once, uncounted, as
// the output reference that every candidate is checked against).
#pragma once

#include "../../cost_model/CorrectedCostModel.h"
#include "../Options.h"
#include "CandidateMeasurer.h"
#include "RlRefiner.h"

#include <string>
#include <vector>

namespace harl {

struct TracePoint {
    int index = 0;        // 1-based measurement number
    double wall_s = 0;    // since tuning started
    double runtime_s = 0; // 0 when the candidate failed
    double best_s = 0;    // best measured so far
    double predicted_s = 0;
    std::string status;
};

struct TuneResult {
    ScheduleState best;
    double best_seconds = 0;
    int measured = 0, failed = 0;
    double seconds = 0;
    std::vector<TracePoint> trace;
};

struct TuneSetup {
    const PipelineGraph *graph;
    const MachineInfo *machine;
    const HarlOptions *options;
    EditSpace *space; // costs with `model`
    CorrectedCostModel *model;
    RlRefiner *refiner; // policies adapted by measured rewards
    CandidateMeasurer *measurer;
    // For HARL_SAMPLES records: the pipeline's label (its outputs), target and machine_params.
    std::string label, target, machine_params;
};

// `start` is the beam-search schedule; `finalists` the rest of its final beam (cheapest first),
// which HARL-RL measures first: diverse, predicted-good starting points for its episodes.
TuneResult tune_with_measurements(const TuneSetup &setup, const ScheduleState &start,
                                  const std::vector<std::pair<ScheduleState, double>> &finalists = {});

// Appends the trace as CSV rows (strategy, pipeline label, index, wall_s, runtime_s, best_s,
// predicted_s, status), writing a header when the file is new.
void append_trace_csv(const std::string &path, const std::string &strategy, const std::string &label,
                      const std::vector<TracePoint> &trace);

} // namespace harl
