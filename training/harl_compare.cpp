// harl-compare: does a cost model pick faster schedules than another one on pipelines neither
// has seen? Schedules random pipelines (seeds no collection uses by default) with HARL twice,
// once per model, measures both schedules on this machine in alternating passes (the same
// child-process protocol as harl-collect) and reports the runtime ratio per pipeline and its
// geometric mean. This is the search-in-the-loop check of a retrained model: ranking metrics
// on a dataset say how well it orders given schedules, this says whether the search, steered by
// it, ends up anywhere better. With --dataset, the pipelines are a dataset's instead, and model
// `best` is each one's fastest measured schedule, replayed from its stored decisions
// (ScheduleReplay.h): how far HARL's picks today are from the best anyone measured, the check
// of a featurizer or search change on data collected before it. `harl-compare --help` lists
// every option.
#include "Autoscheduler.h"
#include "ChildProcessRunner.h"
#include "Dataset.h"
#include "Errors.h"
#include "Hash.h"
#include "HostMachine.h"
#include "ModelChoice.h"
#include "PipelineScale.h"
#include "RandomPipeline.h"
#include "ReplayableSample.h"
#include "ScheduleEmitter.h"
#include "ScheduleReplay.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

namespace po = boost::program_options;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

struct CompareConfig {
    std::string model_a = "analytic";
    std::vector<std::string> models_b = {"shipped"};
    int pipelines = 30;
    long long first_seed = 9000000;
    std::string family = "all";
    int min_stages = 2, max_stages = 8;
    std::string target = "host";
    std::string machine_params;
    int passes = 2, rounds = 3;
    double measure_seconds = 0.3, timeout = 60, search_budget = 10;
    std::string timing_lock = "/tmp/harl-collect-timing.lock";
    std::string csv;
    std::string dataset; // pipelines (and model "best") from this dataset
};

// A pipeline to compare on, and with --dataset the source of its fastest measured schedule.
struct ComparedPipeline {
    harl::SeedPipeline sp;
    std::string best_source;
};

// The dataset's pipelines this build can rebuild, each with its fastest ok schedule that has
// stored decisions (sources blanked in older files have none), up to `limit`.
std::vector<ComparedPipeline> dataset_pipelines(const std::string &path, int limit) {
    std::map<std::string, std::pair<double, ComparedPipeline>> best;
    for (const auto &s : harl::Dataset(path).sourced_samples()) {
        ComparedPipeline c;
        if (s.sample.status != "ok" || !harl::replayable(s, &c.sp, nullptr)) continue;
        c.best_source = s.source;
        auto it = best.find(s.sample.pipeline);
        if (it == best.end() || s.sample.runtime_s < it->second.first)
            best[s.sample.pipeline] = {s.sample.runtime_s, c};
    }
    std::vector<ComparedPipeline> out;
    for (const auto &kv : best) {
        if ((int)out.size() == limit) break;
        out.push_back(kv.second.second);
    }
    if (out.empty())
        throw harl::HarlError("--dataset " + path +
                              ": no pipeline this build can rebuild has a measured "
                              "schedule with stored decisions");
    return out;
}

// A model argument: "analytic", "shipped" (the weights built into HARL) or a weights file.
harl::HarlOptions options_for_model(const harl::HarlOptions &base, const std::string &model,
                                    double budget_s) {
    harl::HarlOptions o =
        model == "best" ? base : harl::options_for_cost_model(base, model); // best: replayed
    o.time_budget_s = budget_s;
    o.verbose = 0;
    return o;
}

struct Scheduled {
    std::unique_ptr<harl::RandomPipeline> rp;
    std::unique_ptr<Halide::Pipeline> pipeline;
    std::string body; // the schedule without its header comment
    double best_s = INFINITY;
    std::string failure;
};

// The pipeline scheduled by HARL with `opts`, or (model "best") by replaying the dataset's
// fastest measured schedule.
Scheduled schedule(const CompareConfig &cfg, const ComparedPipeline &cp, const std::string &model,
                   const harl::HarlOptions &opts) {
    Scheduled s;
    harl::SharedTimingLock busy(cfg.timing_lock);
    s.rp = std::make_unique<harl::RandomPipeline>(harl::pipeline_of(cp.sp));
    s.pipeline = std::make_unique<Halide::Pipeline>(s.rp->output);
    const Halide::Target target = harl::target_named(cfg.target);
    const Halide::MachineParams mp(cfg.machine_params);
    if (model == "best") {
        s.body = harl::schedule_body(harl::apply_stored_schedule(*s.pipeline, target, mp, cp.best_source));
        return s;
    }
    harl::AutoscheduleOutput out = harl::autoschedule(*s.pipeline, target, mp, opts);
    s.body = harl::schedule_body(out.schedule_source);
    return s;
}

void measure(const CompareConfig &cfg, Scheduled *s) {
    if (!s->failure.empty()) return;
    const Halide::Target target = harl::target_named(cfg.target);
    Halide::Buffer<float> output(s->rp->output_size);
    harl::MeasureOptions mo;
    mo.min_runs = 3;
    mo.max_runs = 1000;
    mo.rounds = cfg.rounds;
    mo.target_seconds = cfg.measure_seconds;
    mo.timeout_seconds = cfg.timeout;
    mo.exclusive_lock_path = cfg.timing_lock;
    Halide::Pipeline &p = *s->pipeline;
    harl::MeasureResult m = harl::measure_in_child(
        [&] {
            p.compile_jit(target);
            p.realize(output);
        },
        [&] { p.realize(output); }, mo);
    if (m.ok()) {
        s->best_s = std::min(s->best_s, m.min_seconds);
    } else {
        std::string why = m.message.substr(0, m.message.find('\n'));
        s->failure = std::string(m.status_name()) + (why.empty() ? "" : ": " + why);
    }
}

struct Summary {
    int compared = 0, same = 0, b_wins = 0, a_wins = 0, failed = 0;
    double log_ratio_sum = 0;
};

} // namespace

int main(int argc, char **argv) {
    CompareConfig cfg;
    cfg.machine_params = harl::default_machine_params();
    po::options_description desc(
        "harl-compare: schedules random pipelines with two cost models and measures which schedules "
        "run faster here\n\nUsage: harl-compare [--a analytic] [--b WEIGHTS|shipped] [--pipelines "
        "N]\n\nOptions");
    desc.add_options()("help,h", "print this help")(
        "a", po::value(&cfg.model_a)->default_value(cfg.model_a),
        "baseline model: analytic, shipped (HARL's built-in weights) or a weights file; a learned "
        "one with the suffix :alone searches without the analytic model's second search "
        "(HARL_PORTFOLIO=0)")(
        "b", po::value(&cfg.models_b)->multitoken()->default_value(cfg.models_b, "shipped"),
        "model(s) to judge, same choices; several are each compared with A on the same pipelines")(
        "pipelines", po::value(&cfg.pipelines)->default_value(cfg.pipelines),
        "random pipelines to compare on")(
        "first-seed", po::value(&cfg.first_seed)->default_value(cfg.first_seed),
        "first pipeline seed (the default range is one harl-collect's defaults never reach, so the models "
        "have not been trained on these pipelines)")(
        "family", po::value(&cfg.family)->default_value(cfg.family),
        "which seeds: all (3 in 10 are DNN layer stacks), layers (only those), general (the others) or "
        "dense (linear layers, softmax, layer norm: a seed space of its own)")(
        "min-stages", po::value(&cfg.min_stages)->default_value(cfg.min_stages),
        "fewest stages per pipeline")("max-stages", po::value(&cfg.max_stages)->default_value(cfg.max_stages),
                                      "most stages per pipeline")(
        "target", po::value(&cfg.target)->default_value(cfg.target), "Halide target string (CPU)")(
        "machine-params", po::value(&cfg.machine_params)->default_value(cfg.machine_params),
        "parallelism,last-level-cache bytes,balance (as for generators)")(
        "passes", po::value(&cfg.passes)->default_value(cfg.passes),
        "times each schedule is measured, alternating A,B then B,A; the minimum counts")(
        "rounds", po::value(&cfg.rounds)->default_value(cfg.rounds), "timed rounds per measurement")(
        "measure-seconds", po::value(&cfg.measure_seconds)->default_value(cfg.measure_seconds),
        "timed run time per measurement")("timeout", po::value(&cfg.timeout)->default_value(cfg.timeout),
                                          "seconds per measurement (compile + runs)")(
        "search-budget", po::value(&cfg.search_budget)->default_value(cfg.search_budget),
        "seconds per HARL search")("timing-lock", po::value(&cfg.timing_lock)->default_value(cfg.timing_lock),
                                   "lock file shared with harl-collect: timed runs hold it exclusive")(
        "csv", po::value(&cfg.csv), "write one row per pipeline to this CSV file")(
        "dataset", po::value(&cfg.dataset),
        "compare on this dataset's pipelines (the first --pipelines of them this build can rebuild) instead "
        "of new seeds; model `best` is then each pipeline's fastest measured schedule, replayed from its "
        "stored decisions (e.g. --a best --b analytic shipped)");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const std::exception &e) {
        std::cerr << "harl-compare: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc;
        return 0;
    }
    try {
        if (cfg.pipelines < 1 || cfg.passes < 1 || cfg.rounds < 1)
            throw harl::HarlError("--pipelines, --passes and --rounds must be at least 1");
        if (cfg.min_stages < 1 || cfg.max_stages < cfg.min_stages)
            throw harl::HarlError("--min-stages/--max-stages: need 1 <= min <= max");
        harl::seed_in_family(0, cfg.family); // throws on an unknown family
        const Halide::Target target = harl::target_named(cfg.target);
        if (target.has_gpu_feature())
            throw harl::HarlError("--target " + cfg.target + ": harl-compare measures CPU schedules only");
        std::vector<std::string> models = {cfg.model_a};
        models.insert(models.end(), cfg.models_b.begin(), cfg.models_b.end());
        for (const std::string &m : models) {
            if (m == "best" && cfg.dataset.empty())
                throw harl::HarlError("model `best` needs --dataset (its fastest measured schedules)");
            if (m != "best") harl::check_cost_model_name(m);
        }
        std::vector<ComparedPipeline> pipelines;
        if (!cfg.dataset.empty()) {
            pipelines = dataset_pipelines(cfg.dataset, cfg.pipelines);
        } else {
            for (uint64_t seed = (uint64_t)cfg.first_seed; (int)pipelines.size() < cfg.pipelines; seed++) {
                if (harl::seed_in_family(seed, cfg.family))
                    pipelines.push_back({{seed, cfg.min_stages, cfg.max_stages, cfg.family == "dense"}, ""});
            }
        }
        harl::warm_jit_runtime(target);
        const harl::HarlOptions base = harl::HarlOptions::from_environment();
        std::vector<harl::HarlOptions> opts;
        for (const std::string &m : models)
            opts.push_back(options_for_model(base, m, cfg.search_budget));
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::ofstream csv;
        if (!cfg.csv.empty()) {
            csv.open(cfg.csv);
            if (!csv) throw harl::HarlError("--csv " + cfg.csv + ": cannot write it");
            csv << "seed,stages,model,ms,over_a,same_schedule_as_a,status,schedule_hash\n";
        }
        if (cfg.dataset.empty()) {
            std::printf("harl-compare: A = %s, %d pipelines (%s) from seed %lld\n", cfg.model_a.c_str(),
                        cfg.pipelines, cfg.family.c_str(), cfg.first_seed);
        } else {
            std::printf("harl-compare: A = %s, %zu pipelines of %s\n", cfg.model_a.c_str(), pipelines.size(),
                        cfg.dataset.c_str());
        }
        for (size_t m = 1; m < models.size(); m++)
            std::printf("  B%zu = %s\n", m, models[m].c_str());
        std::vector<Summary> sums(models.size());
        for (size_t i = 0; i < pipelines.size() && !g_stop; i++) {
            const uint64_t seed = pipelines[i].sp.seed;
            std::vector<Scheduled> runs(models.size());
            std::vector<size_t> same_as(models.size()); // the first model with the same schedule
            try {
                for (size_t m = 0; m < models.size(); m++) {
                    runs[m] = schedule(cfg, pipelines[i], models[m], opts[m]);
                    same_as[m] = m;
                    for (size_t e = 0; e < m && same_as[m] == m; e++) {
                        if (runs[e].body == runs[m].body) same_as[m] = e;
                    }
                }
            } catch (const std::exception &e) {
                std::printf("seed %llu: not scheduled (%s)\n", (unsigned long long)seed, e.what());
                for (auto &sum : sums)
                    sum.failed++;
                continue;
            }
            // Each distinct schedule once per pass, in alternating order.
            for (int pass = 0; pass < cfg.passes && !g_stop; pass++) {
                for (size_t j = 0; j < models.size(); j++) {
                    const size_t m = pass % 2 == 0 ? j : models.size() - 1 - j;
                    if (same_as[m] == m) measure(cfg, &runs[m]);
                }
            }
            if (g_stop) break;
            for (size_t m = 0; m < models.size(); m++) {
                runs[m].best_s = runs[same_as[m]].best_s;
                runs[m].failure = runs[same_as[m]].failure;
            }
            const Scheduled &a = runs[0];
            const int stages = (int)a.rp->stage_kinds.size();
            std::printf("seed %llu (%d stages): A %.4f ms", (unsigned long long)seed, stages, a.best_s * 1e3);
            for (size_t m = 0; m < models.size(); m++) {
                const Scheduled &b = runs[m];
                const bool same = same_as[m] == 0;
                const std::string status = !a.failure.empty()   ? "A " + a.failure
                                           : !b.failure.empty() ? "B " + b.failure
                                                                : "ok";
                const double ratio = b.best_s / a.best_s;
                if (m > 0) {
                    Summary &sum = sums[m];
                    if (status == "ok") {
                        sum.compared++;
                        sum.log_ratio_sum += std::log(ratio);
                        sum.same += same;
                        sum.b_wins += !same && ratio < 0.95;
                        sum.a_wins += !same && ratio > 1.05;
                    } else {
                        sum.failed++;
                    }
                    std::printf(", B%zu %.4f ms (B/A %.3f%s)%s", m, b.best_s * 1e3, ratio,
                                same ? ", same" : "", status == "ok" ? "" : (" [" + status + "]").c_str());
                }
                if (csv) {
                    csv << seed << "," << stages << ",\"" << models[m] << "\"," << b.best_s * 1e3 << ","
                        << ratio << "," << same << ",\"" << status << "\","
                        << harl::fnv1a(b.body.data(), b.body.size()) << "\n";
                }
            }
            std::printf("\n");
            std::fflush(stdout);
            if (csv) csv.flush();
        }
        for (size_t m = 1; m < models.size(); m++) {
            const Summary &sum = sums[m];
            if (sum.compared == 0)
                throw harl::HarlError("no pipeline was measured with both A and " + models[m]);
            std::printf(
                "harl-compare: B%zu = %s: %d pipelines measured with both (%d failed): geometric mean "
                "B/A %.3f; B faster by >5%% on %d, A faster by >5%% on %d, same schedule on %d\n",
                m, models[m].c_str(), sum.compared, sum.failed, std::exp(sum.log_ratio_sum / sum.compared),
                sum.b_wins, sum.a_wins, sum.same);
        }
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "harl-compare: error: " << e.what() << "\n";
        return 1;
    }
}
