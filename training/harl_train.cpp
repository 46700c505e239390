// harl-train: trains HARL's learned cost model on harl-collect datasets and writes a weights
// file (use it with HARL_WEIGHTS=FILE, or rebuild with it as cost_model/weights/harl_cpu.weights
// to ship it). Pipelines are split, never samples: a held-out test set (reported at the end,
// next to the analytic model on the same pipelines) and a validation set (picks the epoch).
// `harl-train --help` lists every option.
#include "Autoscheduler.h"
#include "Dataset.h"
#include "Errors.h"
#include "FuncProfiles.h"
#include "GpuFeatureLayout.h"
#include "Hash.h"
#include "TorchCostModel.h"
#include "Trainer.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>

namespace po = boost::program_options;

namespace {

// Which split a pipeline belongs to, from a hash of its key: stable across runs and files.
double split_point(const std::string &key) {
    uint64_t h = harl::fnv1a(key.data(), key.size());
    return (double)(h >> 11) / (double)(1ull << 53);
}

std::string metrics_text(const harl::RankingMetrics &m, int digits = 3) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(digits) << "pairwise " << m.pairwise_accuracy << " (>5% apart "
       << m.pairwise_accuracy_5pct << "), kendall tau " << m.mean_kendall_tau << ", top-1 within 10% "
       << m.top1_within_10pct << " [" << m.pipelines << " pipelines, " << m.pairs << " pairs]";
    return os.str();
}

std::string merged_text(long merged) {
    return merged ? " (and " + std::to_string(merged) +
                        " measured again: same features as another of their pipeline)"
                  : "";
}

// A CSV field: quoted where it holds a comma, a quote or a line break (RFC 4180). The labels of
// measured tuning's samples carry the machine parameters, "2,33554432,40".
std::string csv_field(const std::string &s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s)
        q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

// The first two columns of a row: a dataset key "pipeline@machine" as pipeline,machine.
std::string csv_pipeline_and_machine(const std::string &key) {
    const size_t at = key.rfind('@');
    return csv_field(key.substr(0, at)) + "," + csv_field(key.substr(at + 1));
}

// One row per sample: where it is in the dataset, its measured and its predicted runtime.
void write_predictions(const std::string &path, const std::vector<harl::TrainingPipeline> &pipelines,
                       const std::vector<std::vector<double>> &predicted) {
    std::ofstream out(path);
    if (!out) throw harl::HarlError("cannot write predictions file '" + path + "'");
    out << "pipeline,machine,candidate,measured_s,predicted_s\n";
    for (size_t p = 0; p < pipelines.size(); p++) {
        const std::string where = csv_pipeline_and_machine(pipelines[p].key);
        for (size_t s = 0; s < pipelines[p].samples.size(); s++) {
            out << where << "," << pipelines[p].samples[s].candidate << ","
                << pipelines[p].samples[s].runtime_s << "," << predicted[p][s] << "\n";
        }
    }
    if (!out) throw harl::HarlError("writing predictions file '" + path + "' failed");
    std::cout << "harl-train: predictions of every sample in " << path << "\n";
}

using ModelFactory = std::function<std::unique_ptr<harl::CostModel>(const harl::MachineInfo &)>;

// One row per stage of every sample: where it is in the dataset, its measured runtime, the
// analytic model's and the evaluated model's estimates of the stage, and the stage's features,
// for analysis elsewhere.
void write_stage_features(const std::string &path, const std::vector<harl::TrainingPipeline> &pipelines,
                          int features, const ModelFactory &model) {
    std::ofstream out(path);
    if (!out) throw harl::HarlError("cannot write stage features file '" + path + "'");
    out << "pipeline,machine,candidate,measured_s,stage,analytic_s,predicted_s";
    for (int i = 0; i < features; i++)
        out << "," << harl::feature_name(i);
    out << "\n";
    for (const auto &p : pipelines) {
        const std::string where = csv_pipeline_and_machine(p.key);
        for (const auto &s : p.samples) {
            std::vector<double> analytic, predicted;
            harl::make_base_cost_model(s.machine)->predict(s.stages, &analytic);
            model(s.machine)->predict(s.stages, &predicted);
            for (size_t k = 0; k < s.stages.size(); k++) {
                out << where << "," << s.candidate << "," << s.runtime_s << "," << k << "," << analytic[k]
                    << "," << predicted[k];
                for (int i = 0; i < features; i++)
                    out << "," << s.stages[k][i];
                out << "\n";
            }
        }
    }
    if (!out) throw harl::HarlError("writing stage features file '" + path + "' failed");
    std::cout << "harl-train: every stage's features in " << path << "\n";
}

// Removes the samples of `p` whose median run took more than `max_spread` times their fastest;
// returns how many.
long drop_spread_samples(harl::TrainingPipeline *p, double max_spread) {
    auto &v = p->samples;
    const auto end = std::remove_if(v.begin(), v.end(), [&](const harl::TrainingSample &s) {
        return s.median_s > max_spread * s.runtime_s;
    });
    const long dropped = (long)(v.end() - end);
    v.erase(end, v.end());
    return dropped;
}

} // namespace

int main(int argc, char **argv) {
    std::vector<std::string> dbs, train_only_dbs, merge;
    std::string out = "harl_cpu.weights", curves, csv, machine, evaluate, predictions, stage_features,
                analytic_constants, plot_script = HARL_PLOT_SCRIPT;
    double val_fraction = 0.15, test_fraction = 0.15, max_run_spread = 0;
    bool gpu = false, terms = false;
    unsigned layout_option = 0;
    harl::TrainConfig cfg;
    po::options_description desc(
        "harl-train: trains HARL's learned cost model on harl-collect datasets\n\n"
        "Usage: harl-train --db harl_dataset.db [--train-db OLDER.db] [--out FILE] [--minutes M]\n\nOptions");
    desc.add_options()("help,h", "print this help")(
        "db", po::value(&dbs)->multitoken(), "dataset file(s) from harl-collect (default harl_dataset.db)")(
        "train-db", po::value(&train_only_dbs)->multitoken(),
        "more dataset files whose pipelines all go to training, never to validation or test (older or "
        "noisier data that should help fit the model but not judge it)")(
        "out", po::value(&out)->default_value(out), "weights file to write")(
        "epochs", po::value(&cfg.epochs)->default_value(cfg.epochs), "training epochs")(
        "minutes", po::value(&cfg.minutes)->default_value(0), "stop after this many minutes (0: no limit)")(
        "lr", po::value(&cfg.learning_rate)->default_value(cfg.learning_rate), "Adam learning rate")(
        "regression-weight", po::value(&cfg.regression_weight)->default_value(cfg.regression_weight),
        "weight of the squared log-runtime error next to the ranking loss")(
        "centred-regression", po::bool_switch(&cfg.centred_regression),
        "centre that error within each pipeline: teach the schedules' runtimes relative to each other, not "
        "the machine's overall speed (which otherwise pulls every correction to the discount bound)")(
        "max-discount", po::value(&cfg.max_discount)->default_value(cfg.max_discount),
        "largest log-factor by which the network may call a stage faster than its analytic estimate (0: "
        "--max-correction); smaller values keep the search from exploiting optimistic errors (recorded in "
        "the weights file)")(
        "max-correction", po::value(&cfg.max_correction)->default_value(cfg.max_correction),
        "largest log-factor by which the network may change a stage's analytic estimate (weights file "
        "records it)")(
        "min-pair-gap", po::value(&cfg.min_pair_gap)->default_value(cfg.min_pair_gap),
        "schedules of a pipeline measured closer than this fraction apart are not ranked by the loss")(
        "pair-weight-cap", po::value(&cfg.pair_weight_cap)->default_value(cfg.pair_weight_cap),
        "a ranked pair weighs its log-runtime gap up to this cap (tiny values: every pair alike)")(
        "listwise-weight", po::value(&cfg.listwise_weight)->default_value(cfg.listwise_weight),
        "weight of a listwise loss term that rewards predicting each pipeline's fastest schedules "
        "fastest (0: off)")("weight-decay", po::value(&cfg.weight_decay)->default_value(cfg.weight_decay),
                            "Adam weight decay")("hidden", po::value(&cfg.hidden)->default_value(cfg.hidden),
                                                 "hidden units per layer")(
        "members", po::value(&cfg.members)->default_value(cfg.members),
        "networks in the ensemble, trained alike from seeds seed..seed+members-1 (the search uses their "
        "mean correction)")("bootstrap", po::bool_switch(&cfg.bootstrap),
                            "bagging: each member trains on its own draw of the training pipelines "
                            "with replacement")(
        "terms", po::bool_switch(&terms),
        "three outputs per stage: the network corrects the analytic model's compute, memory and "
        "overhead terms before they are combined, not only their combination (CPU only)")(
        "folds", po::value(&cfg.folds)->default_value(cfg.folds),
        "cross-fold validation: pool the training and validation pipelines into K folds; member k "
        "picks its epochs on fold k mod K and trains on the rest, so the ensemble trains on them all "
        "(0: one fixed validation set; use K = --members)")(
        "snapshots", po::value(&cfg.snapshots)->default_value(cfg.snapshots),
        "each member enters the ensemble with its N best validation epochs (members x N networks, "
        "at most 64), which averages out the luck of a single best epoch")(
        "profile-weight", po::value(&cfg.profile_weight)->default_value(cfg.profile_weight),
        "weight of a per-Func loss on the samples the datasets hold profiles of (harl-profile --save): "
        "each Func's predicted share of its schedule's time against the profiler's (0: profiles unused)")(
        "pessimism", po::value(&cfg.pessimism)->default_value(cfg.pessimism),
        "times the members' standard deviation added to a stage's log-correction: "
        "schedules the members disagree on look slower (recorded in the weights file)")(
        "batch", po::value(&cfg.batch_pipelines)->default_value(cfg.batch_pipelines),
        "pipelines per mini-batch")("seed", po::value(&cfg.seed)->default_value(0), "random seed")(
        "val-fraction", po::value(&val_fraction)->default_value(val_fraction),
        "fraction of pipelines for validation (picks the epoch)")(
        "test-fraction", po::value(&test_fraction)->default_value(test_fraction),
        "fraction of pipelines held out for the final report (given with --evaluate: the metrics of those "
        "pipelines and of the others, apart)")(
        "max-run-spread", po::value(&max_run_spread)->default_value(0),
        "leave out of training and validation the samples whose median run took more than this many times "
        "their fastest (the label): some runs of those schedules were much faster than the others, so the "
        "minimum may not be what the schedule usually takes (0: keep all; test pipelines always keep all)")(
        "machine", po::value(&machine), "use only samples measured on this machine name")(
        "layout", po::value(&layout_option)->default_value(0),
        "CPU feature layout to train on, with the samples of that layout or a later one (layouts "
        "append features): 0 = the newest among the samples; `harl-collect --refeaturize` gives old samples "
        "the current one")(
        "gpu", po::bool_switch(&gpu),
        "train the GPU model: on the samples measured for GPU targets (GPU feature layout), correcting "
        "the analytic GPU model; without it, the CPU samples")("curves", po::value(&curves),
                                                               "training curves PNG (default: OUT.png)")(
        "csv", po::value(&csv), "per-epoch metrics CSV (default: OUT.csv)")(
        "plot-script", po::value(&plot_script)->default_value(plot_script), "script that draws the PNG")(
        "evaluate", po::value(&evaluate)->implicit_value("analytic"),
        "no training: print the ranking metrics on every pipeline of the datasets of the analytic model "
        "(or of the weights file given as the value) and exit")(
        "analytic-constants", po::value(&analytic_constants),
        ("with --evaluate: NAME=VALUE,... replaces calibrated constants of the CPU analytic model, and so "
         "the estimates a learned model corrects, to measure other values (training/calibrate_analytic.py); "
         "built in: " +
         harl::format_analytic_constants({}))
            .c_str())(
        "predictions", po::value(&predictions),
        "with --evaluate: also write every sample's measured and predicted runtime to this CSV "
        "(pipeline, candidate, measured_s, predicted_s) to find the schedules the model misjudges")(
        "merge-ensembles", po::value(&merge)->multitoken(),
        "no training: write one ensemble of every member of these weights files (trained alike on the "
        "same data, e.g. from different --seed values) to --out and exit")(
        "stage-features", po::value(&stage_features),
        "with --evaluate: also write every stage of every sample to this CSV (its measured runtime, the "
        "analytic model's and the evaluated model's estimates of the stage, and the stage's features), to "
        "study the data elsewhere");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const std::exception &e) {
        std::cerr << "harl-train: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc;
        return 0;
    }
    if (dbs.empty()) dbs.push_back("harl_dataset.db");
    if (curves.empty()) curves = out + ".png";
    if (csv.empty()) csv = out + ".csv";
    try {
        if (!merge.empty()) {
            std::vector<harl::ModelWeights> ensembles;
            for (const std::string &path : merge)
                ensembles.push_back(harl::load_weights(path));
            const harl::ModelWeights w = harl::merge_ensembles(ensembles, merge);
            harl::save_weights(out, w);
            std::cout << "harl-train: " << out << ": an ensemble of " << w.members << " members from "
                      << merge.size() << " weights files\n";
            return 0;
        }
        if (cfg.epochs < 1 || cfg.hidden < 1 || cfg.batch_pipelines < 1) {
            throw harl::HarlError("--epochs, --hidden and --batch must be positive");
        }
        if (cfg.members < 1 || cfg.members > 64) throw harl::HarlError("--members must be in 1..64");
        if (cfg.folds < 0 || cfg.folds > 64) throw harl::HarlError("--folds must be in 0..64");
        if (terms && gpu)
            throw harl::HarlError("--terms corrects the CPU analytic model's terms: not with --gpu");
        cfg.outputs = terms ? harl::kTermOutputs : 1;
        if (cfg.snapshots < 1 || cfg.snapshots > cfg.epochs || cfg.members * cfg.snapshots > 64)
            throw harl::HarlError(
                "--snapshots must be 1 to --epochs, with --members x --snapshots at most 64");
        if (std::fabs(cfg.pessimism) > 10) throw harl::HarlError("--pessimism must be in -10..10");
        if (cfg.max_correction <= 0 || cfg.max_correction > 20 || cfg.max_discount > 20)
            throw harl::HarlError("--max-correction must be in (0, 20], --max-discount at most 20");
        if (!(cfg.pair_weight_cap > 0)) throw harl::HarlError("--pair-weight-cap must be positive");
        if (!(cfg.listwise_weight >= 0)) throw harl::HarlError("--listwise-weight must be >= 0");
        if (!(cfg.profile_weight >= 0)) throw harl::HarlError("--profile-weight must be >= 0");
        if (!stage_features.empty() && evaluate.empty())
            throw harl::HarlError("--stage-features needs --evaluate (it writes the evaluated samples)");
        if (!predictions.empty() && evaluate.empty())
            throw harl::HarlError(
                "--predictions needs --evaluate (it lists the evaluated model's predictions)");
        harl::AnalyticConstants constants;
        if (!analytic_constants.empty()) {
            if (evaluate.empty())
                throw harl::HarlError(
                    "--analytic-constants needs --evaluate: HARL schedules with its built-in "
                    "constants, so weights trained against others would correct the wrong "
                    "estimates");
            std::string error;
            if (!harl::parse_analytic_constants(analytic_constants, &constants, &error))
                throw harl::HarlError("--analytic-constants: " + error);
        }
        if (max_run_spread != 0 && !(max_run_spread >= 1)) {
            throw harl::HarlError("--max-run-spread " + std::to_string(max_run_spread) +
                                  ": a median run is never faster than the fastest; give 1 or more (0: off)");
        }
        if (val_fraction < 0 || test_fraction < 0 || val_fraction + test_fraction >= 1) {
            throw harl::HarlError("--val-fraction and --test-fraction must be >= 0 and sum to less than 1");
        }
        if (layout_option != 0 && (gpu || harl::num_features_of_layout(layout_option) == 0 ||
                                   layout_option == harl::kGpuFeatureLayoutVersion)) {
            throw harl::HarlError("--layout " + std::to_string(layout_option) +
                                  ": this HARL knows CPU layouts 1 to " +
                                  std::to_string(harl::kFeatureLayoutVersion) + " (and none with --gpu)");
        }
        std::vector<std::string> all_dbs = dbs;
        all_dbs.insert(all_dbs.end(), train_only_dbs.begin(), train_only_dbs.end());
        std::vector<std::vector<harl::SampleRecord>> records;
        harl::FuncProfiles profiles;
        uint32_t layout = gpu ? harl::kGpuFeatureLayoutVersion : layout_option;
        for (const std::string &path : all_dbs) {
            std::ifstream probe(path);
            if (!probe)
                throw harl::HarlError("dataset '" + path + "' does not exist (run harl-collect first)");
            harl::Dataset db(path);
            records.push_back(db.ok_samples());
            if (cfg.profile_weight > 0) profiles.add(db.profiles());
            for (const auto &r : records.back()) {
                if (!gpu && layout_option == 0 && r.layout_version != harl::kGpuFeatureLayoutVersion)
                    layout = std::max(layout, r.layout_version);
            }
        }
        if (layout == 0) layout = harl::kFeatureLayoutVersion; // no samples: reported below
        cfg.features = harl::num_features_of_layout(layout);
        // Load every ok sample of that layout, grouped by pipeline. Schedules of one pipeline with
        // the same features are one sample (the collector measured some twice before its duplicate
        // check worked, or two schedules differ only where no feature looks): the faster runtime
        // is kept, as if its runs had been one measurement.
        std::map<std::string, harl::TrainingPipeline> by_key;
        std::map<std::string, std::map<std::vector<uint8_t>, size_t>> features_seen;
        std::set<std::string> machines, train_only_keys;
        long samples = 0, skipped = 0, merged = 0, profiled = 0;
        for (size_t file = 0; file < all_dbs.size(); file++) {
            const std::string &path = all_dbs[file];
            for (const auto &r : records[file]) {
                if (!machine.empty() && r.machine != machine) continue;
                // A model of a CPU layout reads the first entries of any later CPU layout.
                const bool usable =
                    gpu ? r.layout_version == layout
                        : r.layout_version >= layout && r.layout_version != harl::kGpuFeatureLayoutVersion;
                if (!usable || r.runtime_s <= 0) {
                    skipped++;
                    continue;
                }
                const std::string key = r.pipeline + "@" + r.machine;
                auto seen = features_seen[key].emplace(r.features, by_key[key].samples.size());
                if (!seen.second) {
                    harl::TrainingSample &kept = by_key[key].samples[seen.first->second];
                    if (r.runtime_s < kept.runtime_s) { // the faster measurement, with its median
                        kept.runtime_s = r.runtime_s;
                        kept.median_s = r.median_s;
                    }
                    merged++;
                    continue;
                }
                harl::TrainingSample s;
                uint32_t sample_layout = 0;
                s.stages = harl::decode_featurization(r.features, &sample_layout);
                if (sample_layout != r.layout_version) {
                    throw harl::HarlError("dataset '" + path + "': a sample of " + r.pipeline +
                                          " is recorded with another layout than its features have");
                }
                s.machine = harl::make_machine_info(Halide::Target(r.target),
                                                    Halide::MachineParams(r.machine_params));
                s.machine.analytic = constants;
                s.runtime_s = r.runtime_s;
                s.median_s = r.median_s;
                s.candidate = r.candidate;
                if (cfg.profile_weight > 0 && profiles.attach(r.pipeline, r.features, &s)) profiled++;
                auto &p = by_key[key];
                p.key = key;
                p.samples.push_back(std::move(s));
                if (file >= dbs.size()) train_only_keys.insert(p.key);
                machines.insert(r.machine);
                samples++;
            }
        }
        // Where a pipeline falls in the test / validation / training split: --train-db pipelines
        // always train (1), the others by the hash of their key.
        auto split_of = [&](const std::string &key) {
            return train_only_keys.count(key) ? 1.0 : split_point(key);
        };
        if (!evaluate.empty()) {
            std::vector<harl::TrainingPipeline> all;
            for (auto &kv : by_key)
                all.push_back(kv.second);
            harl::RankingMetrics m;
            std::vector<std::vector<double>> predicted;
            ModelFactory model = [](const harl::MachineInfo &mi) { return harl::make_base_cost_model(mi); };
            if (evaluate != "analytic") {
                harl::ModelWeights w = harl::load_weights(evaluate);
                if (harl::num_features_of_layout(w.layout_version) > cfg.features) {
                    throw harl::HarlError(evaluate + " reads feature layout " +
                                          std::to_string(w.layout_version) + ", the samples have layout " +
                                          std::to_string(layout) +
                                          ": refeaturize them (harl-collect --refeaturize)");
                }
                model = [w](const harl::MachineInfo &mi) { return harl::make_learned_cost_model(mi, w); };
            }
            m = harl::evaluate_cost_model(all, model, &predicted);
            std::cout << evaluate << " on all " << samples << " samples (feature layout " << layout << ")"
                      << merged_text(merged) << ": " << metrics_text(m) << "\n";
            if (!vm["test-fraction"].defaulted()) {
                // The pipelines a training run would hold out, and the others, ranked apart (to four
                // digits: training/calibrate_analytic.py fits the analytic constants on the others).
                std::vector<std::vector<double>> pred[2], meas[2];
                for (size_t p = 0; p < all.size(); p++) {
                    const bool held = split_of(all[p].key) < test_fraction;
                    pred[held].push_back(predicted[p]);
                    meas[held].emplace_back();
                    for (const auto &s : all[p].samples)
                        meas[held].back().push_back(s.runtime_s);
                }
                std::cout << evaluate << " on the pipelines outside the test split: "
                          << metrics_text(harl::ranking_metrics(pred[0], meas[0]), 4) << "\n"
                          << evaluate << " on the held-out test pipelines (--test-fraction " << test_fraction
                          << "): " << metrics_text(harl::ranking_metrics(pred[1], meas[1]), 4) << "\n";
            }
            if (!predictions.empty()) write_predictions(predictions, all, predicted);
            if (!stage_features.empty()) write_stage_features(stage_features, all, cfg.features, model);
            return 0;
        }
        if (cfg.profile_weight > 0) {
            long distorted = 0;
            for (auto &kv : by_key)
                distorted += harl::drop_distorted_profiles(&kv.second);
            std::cout << "harl-train: " << profiled - distorted << " samples with a per-Func profile (of "
                      << profiles.size() << " profiles; " << distorted
                      << " dropped as distorted by the profiler)\n";
            if (profiled - distorted == 0)
                throw harl::HarlError("--profile-weight: no sample of these datasets has a usable profile "
                                      "(profile some with harl-profile --save)");
        }
        std::vector<harl::TrainingPipeline> train, val, test;
        long spread_dropped = 0;
        for (auto &kv : by_key) {
            kv.second.train_only = train_only_keys.count(kv.first) > 0;
            const double u = split_of(kv.first);
            if (max_run_spread > 0 && u >= test_fraction) {
                spread_dropped += drop_spread_samples(&kv.second, max_run_spread);
            }
            if (kv.second.samples.size() < 2) continue; // nothing to rank
            (u < test_fraction ? test : u < test_fraction + val_fraction ? val : train).push_back(kv.second);
        }
        if (max_run_spread > 0) {
            std::cout << "harl-train: " << spread_dropped
                      << " training and validation samples left out: their median run took more than "
                      << max_run_spread << "x their fastest (--max-run-spread)\n";
        }
        std::cout << "harl-train: " << samples << " samples (feature layout " << layout << ") of "
                  << by_key.size() << " pipelines from " << machines.size() << " machine(s)";
        std::cout << merged_text(merged);
        if (skipped) std::cout << " (" << skipped << " samples of another feature layout skipped)";
        std::cout << "; split by pipeline: " << train.size() << " train, " << val.size() << " validation, "
                  << test.size() << " test"
                  << (cfg.folds > 1 ? " (training and validation pooled in " + std::to_string(cfg.folds) +
                                          " folds: each member validates on one, trains on the rest)"
                                    : std::string())
                  << "\n";
        if (train.empty()) {
            throw harl::HarlError("no pipeline with two or more measured schedules to train on: collect more "
                                  "with harl-collect");
        }
        std::ofstream csv_out(csv);
        csv_out << "member,epoch,seconds,train_loss,val_pairwise,val_pairwise_5pct,val_kendall_tau,val_top1_"
                   "10pct\n";
        harl::TrainOutput res = harl::train_cost_model(train, val, cfg, [&](const harl::EpochReport &e) {
            std::cout << (cfg.members > 1 ? "member " + std::to_string(e.member) + " " : "") << "epoch "
                      << std::setw(4) << e.epoch << "  loss " << std::fixed << std::setprecision(4)
                      << e.train_loss << "  validation: " << metrics_text(e.validation) << "  ("
                      << std::setprecision(1) << e.seconds << " s)\n"
                      << std::flush;
            csv_out << e.member << "," << e.epoch << "," << e.seconds << "," << e.train_loss << ","
                    << e.validation.pairwise_accuracy << "," << e.validation.pairwise_accuracy_5pct << ","
                    << e.validation.mean_kendall_tau << "," << e.validation.top1_within_10pct << "\n"
                    << std::flush;
        });
        char date[32];
        std::time_t now = std::time(nullptr);
        std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
        std::ostringstream meta;
        std::string best;
        for (int e : res.best_epochs)
            best += (best.empty() ? "" : ",") + std::to_string(e);
        meta << "harl-train " << date << ": " << samples << " samples, "
             << (cfg.folds > 1 ? train.size() + val.size() : train.size()) << " training pipelines"
             << (cfg.folds > 1 ? " in " + std::to_string(cfg.folds) + " folds" : std::string()) << ", "
             << cfg.members << " member(s)"
             << (cfg.snapshots > 1 ? " x " + std::to_string(cfg.snapshots) + " snapshots" : "") << ", "
             << res.history.size() << " epochs (best " << best << "), machines:";
        for (const auto &m : machines)
            meta << " " << m;
        res.weights.metadata = meta.str();
        res.weights.layout_version = layout;
        harl::save_weights(out, res.weights);
        std::cout << "harl-train: wrote " << out << " (epoch " << best << "); curves in " << csv << "\n";

        const auto &report = test.empty() ? val : test;
        const char *which = test.empty() ? "validation" : "held-out test";
        harl::ModelWeights w = harl::load_weights(out);
        auto learned = harl::evaluate_cost_model(
            report, [&](const harl::MachineInfo &m) { return harl::make_torch_cost_model(m, w); });
        auto analytic = harl::evaluate_cost_model(
            report, [&](const harl::MachineInfo &m) { return harl::make_base_cost_model(m); });
        std::cout << which << " pipelines, learned:  " << metrics_text(learned) << "\n"
                  << which << " pipelines, analytic: " << metrics_text(analytic) << "\n";
        if (!gpu) {
            // Whether the new weights beat the ones HARL uses by default, on the same pipelines
            // (their seeds may have been in the shipped weights' training data, timed elsewhere).
            auto ranked = harl::evaluate_cost_model(report, [&](const harl::MachineInfo &m) {
                return harl::make_learned_cost_model(m, harl::shipped_weights_for(m));
            });
            std::cout << which << " pipelines, shipped:  " << metrics_text(ranked) << "\n";
        }

        // Debian's interpreter sees Debian's python3-matplotlib even when another python3 is first
        // on PATH.
        std::string python = std::ifstream("/usr/bin/python3").good() ? "/usr/bin/python3" : "python3";
        std::string cmd = python + " '" + plot_script + "' '" + csv + "' '" + curves + "'";
        if (std::system(cmd.c_str()) != 0) {
            std::cerr << "harl-train: warning: could not draw " << curves
                      << " (needs python3-matplotlib); the "
                      << "curves are in " << csv << "\n";
        } else {
            std::cout << "harl-train: training curves in " << curves << "\n";
        }
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "harl-train: error: " << e.what() << "\n";
        return 1;
    }
}
