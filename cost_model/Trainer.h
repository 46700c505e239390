// Trainer: fits the learned cost model (StageMlp.h) to measured samples with LibTorch. No
// LibTorch types appear here, so tools include it cheaply.
//
// Loss, per pipeline of a mini-batch: a pairwise logistic ranking loss over every pair of its
// schedules whose measured times differ by more than 2% (weighted by how much they differ),
// plus a small squared error on log runtime so predictions keep their scale across pipelines
// (beam search adds stage costs of partial schedules), and optional terms named in
// TrainConfig (listwise, per-Func profile shares). Inputs are normalised with the training
// set's statistics, stored in the weights. The epoch with the best validation ranking is kept.
#pragma once

#include "CostModel.h"
#include "ModelWeights.h"
#include "RankingMetrics.h"

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace harl {

struct TrainingSample {
    std::vector<StageFeatures> stages;
    MachineInfo machine;
    double runtime_s = 0; // the fastest timed run: the label
    double median_s = 0;  // the median timed run (0: not recorded)
    int candidate = -1;   // in its dataset, to name it in reports
    // Where the schedule's time went by Halide's sampling profiler (harl-profile --save), when a
    // profile is attached: each stage's Func, as an index into func_share (every stage has one),
    // and each Func's share of the profiled time of these Funcs (runtime entries such as
    // halide_malloc left out). Empty: not profiled.
    std::vector<int> stage_func;
    std::vector<double> func_share;
    double profiled_ms = 0; // the profile's total per run (profiled code runs a little slower)
};

struct TrainingPipeline {
    std::string key;
    std::vector<TrainingSample> samples;
    bool train_only = false; // never validates (harl-train --train-db), whatever the folds
};

struct TrainConfig {
    int epochs = 150;
    double minutes = 0; // 0: no limit
    double learning_rate = 1e-3;
    double weight_decay = 1e-4;
    int hidden = 32;
    int batch_pipelines = 16;
    double regression_weight = 0.1;
    // Centre the regression term within each pipeline: it then teaches the schedules' runtimes
    // relative to each other, not the machine's overall speed. Uncentred, a machine faster than
    // the analytic model's generic core pulls every stage's correction towards the discount
    // bound, where the bounded corrections saturate and stop telling schedules apart.
    bool centred_regression = false;
    // Pairs of one pipeline whose measured runtimes differ by less than this fraction teach no
    // order: two measurements of one schedule differ by about that much on a shared machine.
    double min_pair_gap = 0.02;
    // A ranked pair's weight grows with its log-runtime gap up to this cap: large caps let the
    // pairs far apart dominate, tiny ones weigh every ranked pair alike.
    double pair_weight_cap = 2.0;
    // Weight of a listwise term: cross-entropy between the softmax of the negated predicted log
    // runtimes of a pipeline's schedules and that of the measured ones at temperature
    // 0.1 (schedules 10% slower than the fastest get e^-1 of its share), which rewards putting
    // the fastest schedules first (top-1).
    double listwise_weight = 0;
    // Largest factor (as a log) by which the network may change a stage's analytic estimate.
    // Smaller bounds keep more of the analytic model's judgement on layers far outside the
    // training pipelines; in make bench, 1.0 did not beat 4.0 (training/README.md).
    double max_correction = 4.0;
    // Largest log-factor by which it may call a stage faster than the analytic estimate
    // (ModelWeights::max_discount); 0 or less: max_correction.
    double max_discount = 0;
    // Networks in the ensemble (ModelWeights::members), each trained alike from its own seed
    // (seed + k) and its own best validation epoch, and the pessimism their spread adds.
    int members = 1;
    // Bagging: each member trains on its own bootstrap draw of the training pipelines (as many
    // as there are, with replacement, from its seed), so the members differ in what they saw
    // and not only in their initial weights and batch order.
    bool bootstrap = false;
    // Snapshots: each member enters the ensemble with its `snapshots` best validation epochs
    // (distinct epochs, best first), not only its best one. The validation score moves by a few
    // points from epoch to epoch, so the single best epoch is partly luck; averaging several
    // good epochs of each member smooths that out (members x snapshots networks in all).
    int snapshots = 1;
    // Cross-fold validation (0 or 1: off): the training and validation pipelines are pooled and
    // split into `folds` folds by a hash of their keys; member k validates (picks its epochs) on
    // fold k mod folds and trains on the others. Every member then sees most of the pool, and the
    // ensemble all of it, where a fixed validation set is never trained on.
    int folds = 0;
    // 1: the network corrects each stage's analytic estimate; kTermOutputs: each of its terms
    // (ModelWeights::outputs; CPU samples only).
    int outputs = 1;
    double pessimism = 0;
    // Weight of a per-Func loss on profiled samples (TrainingSample::func_share): the squared
    // error of each Func's predicted log share of its schedule's time, weighted by its measured
    // share. A schedule's runtime alone says nothing of which stage the time went to; its
    // profile says it for every stage (0: profiles unused).
    double profile_weight = 0;
    uint64_t seed = 0;
    // StageFeatures entries the model reads: num_features_of_layout() of the samples' layout.
    int features = kNumFeatures;
};

struct EpochReport {
    int member = 0; // of the ensemble
    int epoch = 0;
    double train_loss = 0;
    RankingMetrics validation;
    double seconds = 0;
};

struct TrainOutput {
    ModelWeights weights;             // every member at its best validation epoch(s)
    std::vector<int> best_epochs;     // per member (and snapshot, best first)
    std::vector<EpochReport> history; // every member's epochs, member after member
};

TrainOutput train_cost_model(const std::vector<TrainingPipeline> &train,
                             const std::vector<TrainingPipeline> &val, const TrainConfig &cfg,
                             const std::function<void(const EpochReport &)> &on_epoch);

// The fold (0..folds-1) of a pipeline under TrainConfig::folds: a stable hash of its key.
int pipeline_fold(const std::string &key, int folds);

// The training pipelines (indices into them) one ensemble member trains on, in its first
// epoch's order before shuffling: all of them once, or with `bootstrap` as many drawn with
// replacement from `rng` (about 63% of them distinct).
std::vector<size_t> member_training_pipelines(size_t n, bool bootstrap, std::mt19937_64 &rng);

// Ranking metrics of any cost model's predictions on a set of pipelines; `predicted`, when
// given, receives the predicted seconds of every sample, pipeline by pipeline.
RankingMetrics evaluate_cost_model(const std::vector<TrainingPipeline> &pipelines,
                                   const std::function<std::unique_ptr<CostModel>(const MachineInfo &)> &make,
                                   std::vector<std::vector<double>> *predicted = nullptr);

} // namespace harl
