// =============================================================================================
// HARL: a learned autoscheduler for Halide 14 — the manual.
//
// ENTRY POINTS
//   * Plugin: load libharl_autosched.so into any generator and select it:
//       gen -g NAME -o OUT -e static_library,h,schedule,featurization
//           -p libharl_autosched.so -s HARL target=host auto_schedule=true machine_params=P,LLC,B
//     or from CMake: add_halide_library(NAME FROM GEN AUTOSCHEDULER HARL::harl_autosched).
//     Loading the library registers the name "HARL" with Pipeline::add_autoscheduler.
//   * Library: harl::autoschedule(pipeline, target, machine_params, options) below, used by the
//     tests and the tools; it applies the schedule to the pipeline's Funcs and returns the
//     schedule source and featurization.
//
// WHAT IT DOES
//   1. PipelineGraph analyses the pipeline (stages, loop variables, affine access maps fitted
//      from Halide's bounds inference, concrete regions from the estimates). Pipelines without
//      estimates, extern stages and unboundable accesses are rejected with an error naming the
//      Func and dimension.
//   2. RfactorPass rfactors reductions that lack pure parallelism (re-analysing after each).
//   3. BeamSearch decides each Func, consumers first: inline, compute_root, or compute_at /
//      store_at a loop of its consumer, with a tiled, vectorised, unrolled and parallel loop
//      nest per stage (SearchSpace). Each partial schedule is featurized (Featurizer,
//      cost_model/FeatureLayout.h) and scored by a CostModel.
//   4. RL refinement (refine/RlRefiner.h) edits the complete schedule: hierarchical policies
//      (cost_model/PolicyNet.h) pick a stage, a kind of change and an edit among the legal
//      ones (refine/EditSpace.h); rewards are predicted speedups; the policies adapt online;
//      exploration follows improvement; it stops when improvement stalls. The result replaces
//      the beam schedule only if predicted faster. With HARL_MEASURE=N the candidates are
//      compiled and timed for real in child processes (refine/MeasuredTuner.h), the cost model
//      is refitted to the measurements, and the fastest measured schedule is returned.
//   5. ScheduleEmitter turns the best schedule into directives, applies them, and prints them
//      as `.schedule.h` (`-e schedule`); `-e featurization` gets the chosen schedule's features.
//      On CPU targets StorageBounds first lowers the schedule in a child process and adds
//      `bound_storage` for the Funcs computed inside loops whose buffer Halide would size at
//      run time (a guarded tail tile) but which fit the stack under a proven constant bound,
//      so that they are not a heap allocation per iteration. Where that child lowered the
//      schedule, it was also the lowering check; else LoweringCheck lowers it in a child of its
//      own (HARL_CHECK_LOWERING) and falls back to the schedule without fused loops if Halide
//      crashes.
//   GPU targets (cuda, opencl, ...) take steps 3-4 in autoscheduler/gpu/: GpuBeamSearch over
//   GpuSchedule (root kernels over blocks/threads, producers in shared memory or registers),
//   candidates from GpuSearchSpace checked by GpuValidity against TargetModel's launch limits
//   before GpuFeaturizer and the analytic GPU cost model score them; GpuEmitter's directives.
//
// OPTIONS (environment variables, read once per call; unknown HARL_* names are reported)
//   HARL_BEAM_SIZE       default 8: states kept per decision (1 = greedy)
//   HARL_SEED            default 0: same seed and options => same schedule
//   HARL_TIME_BUDGET     default 10: seconds; past 75% the search finishes greedily
//   HARL_MAX_CANDIDATES  default 48: loop-nest candidates per Func and placement
//   HARL_RANDOMIZE       default 0: probability of a random decision (data collection)
//   HARL_VERBOSE         0..4: progress and diagnostics on stderr
//   HARL_COST_MODEL      default auto: `learned` is the per-stage network (cost_model/StageMlp.h)
//                        that corrects the analytic model, `analytic` the hand-written model;
//                        auto = learned on CPU targets (HARL_WEIGHTS, else the shipped
//                        weights); on GPU targets learned only with HARL_WEIGHTS, else analytic
//   HARL_WEIGHTS         weights file for the learned model (harl-train output); unset = the
//                        weights built into HARL: cost_model/weights/harl_cpu_avx512.weights
//                        for x86 targets with AVX-512, cost_model/weights/harl_cpu.weights for
//                        every other CPU target
//   HARL_GPU_INIT        default valid: GPU kernel shapes drawn from the valid region; naive:
//                        unconstrained proposals (still checked before scoring)
//   HARL_RL_BUDGET       default 0: seconds for the RL pass with model rewards (0 = off; it
//                        exploits cost-model errors, see README); HARL_MEASURE runs RL regardless
//   HARL_RL_PATIENCE     default 8: episodes without improvement before the pass stops
//   HARL_RL_EPISODES     default 40: most episodes
//   HARL_RL_ADAPT        default 1: online actor-critic steps on this pipeline (0 = fixed policy)
//   HARL_POLICY          policy file from harl-train-policy; unset = the shipped policy
//                        (cost_model/weights/harl_policy.weights)
//   HARL_MEASURE         default 0: candidates to compile and time for real (0 = model only)
//   HARL_MEASURE_BATCH   default 4: candidates measured per round
//   HARL_MEASURE_TIMEOUT default 60: seconds per candidate (compile + runs)
//   HARL_TUNER           default rl: with HARL_MEASURE, rl | random | dropout (baselines)
//   HARL_TRACE           CSV file every measurement is appended to
//   HARL_SAMPLES         file measured samples are appended to (harl-collect --import)
//   HARL_DROPOUT         default 0: drop each candidate with this probability (baseline)
//   HARL_CHECK_LOWERING  default 1: CPU targets: lower the pick in a child first and emit it
//                        without fused loops if Halide 14 crashes on it (LoweringCheck.h)
//   HARL_PORTFOLIO       default 1: CPU targets with the learned model: also search with the
//                        analytic model, keep the complete schedule the learned one predicts faster
// MACHINE PARAMS: parallelism sizes parallel loops; last_level_cache_size the LLC in the memory
// model; balance scales the cost of DRAM traffic.
// =============================================================================================
#pragma once

#include "../cost_model/CostModel.h"
#include "../cost_model/GpuFeatureLayout.h"
#include "Halide.h"
#include "Options.h"
#include "PipelineGraph.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace harl {

// A schedule source without its header comment (seed, beam, cost model, predicted runtime,
// decisions), its names made independent of the process's unique-name counters: equal bodies
// are the same schedule, whichever search found it and however often the pipeline was built.
std::string schedule_body(const std::string &schedule_source);

struct AutoscheduleOutput {
    std::string schedule_source;
    std::vector<uint8_t> featurization;
    double predicted_seconds = 0;
    double search_seconds = 0;
    int states_evaluated = 0;
    int measured = 0;            // candidates measured (HARL_MEASURE)
    double measured_seconds = 0; // best measured runtime
    std::string summary;         // one line per Func
};

AutoscheduleOutput autoschedule(const Halide::Pipeline &p, const Halide::Target &t,
                                const Halide::MachineParams &mp, const HarlOptions &opts);

// The pipeline as HARL analyses it: its graph after the rfactor rounds HARL applies to
// reductions that lack parallelism (which change the pipeline's Funcs; their source lines are
// appended to `rfactor_source`).
std::unique_ptr<PipelineGraph> analyse_pipeline(const Halide::Pipeline &p, const Halide::Target &t,
                                                const Halide::MachineParams &mp, std::string *rfactor_source);

// The featurization (as AutoscheduleOutput::featurization, current CPU layout) of a schedule
// HARL wrote earlier for a fresh copy of this pipeline, replayed from its "// Decisions:"
// header (ScheduleReplay.h): old measurements get features of a newer layout. HarlError when
// the decisions do not fit the pipeline.
std::vector<uint8_t> refeaturize_schedule(const Halide::Pipeline &p, const Halide::Target &t,
                                          const Halide::MachineParams &mp,
                                          const std::string &schedule_source);

// Each stage of a schedule HARL wrote earlier (replayed like refeaturize_schedule's), in
// decision order: its Func and stage names, its features and `model`'s estimate of it. What
// harl-profile sets beside the measured time of each Func. CPU targets only. With
// `featurization`, also the schedule's featurization bytes (refeaturize_schedule's), from the
// same replay.
struct StageEstimate {
    std::string func;  // the Func's name, as Halide's profiler reports it
    std::string stage; // "f" or "f.update(0)"
    StageFeatures features{};
    double seconds = 0;
};
std::vector<StageEstimate> estimate_stored_schedule(const Halide::Pipeline &p, const Halide::Target &t,
                                                    const Halide::MachineParams &mp,
                                                    const std::string &schedule_source, CostModel &model,
                                                    std::vector<uint8_t> *featurization = nullptr);

// A schedule HARL wrote earlier, replayed from its "// Decisions:" header on a fresh copy of
// this pipeline and applied to its Funcs, ready to compile (harl-compare --dataset, harl-collect
// --remeasure). Returns the replayed schedule's source. HarlError when the decisions do not fit
// the pipeline.
std::string apply_stored_schedule(const Halide::Pipeline &p, const Halide::Target &t,
                                  const Halide::MachineParams &mp, const std::string &schedule_source);

// Featurization bytes: "HARLFEAT", u32 layout version, u32 stages, u32 features, then per
// stage: i32 node (Pipeline::get_func index), i32 stage index, float[features].
std::vector<uint8_t> encode_featurization(const std::vector<int> &nodes, const std::vector<int> &stages,
                                          const std::vector<StageFeatures> &features,
                                          uint32_t layout_version = kFeatureLayoutVersion);
// The per-stage features of featurization bytes; HarlError if they are malformed or of
// another layout version. With `layout_version`, GPU features (GpuFeatureLayout.h) and older
// CPU layouts (their missing entries 0) are accepted too and the version is returned there.
std::vector<StageFeatures> decode_featurization(const std::vector<uint8_t> &bytes,
                                                uint32_t *layout_version = nullptr);

// The cost model the options ask for (HarlError naming the weights file if it is unusable).
std::unique_ptr<CostModel> make_cost_model(const HarlOptions &opts, const MachineInfo &m);
MachineInfo make_machine_info(const Halide::Target &t, const Halide::MachineParams &mp);

} // namespace harl
