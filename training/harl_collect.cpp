// harl-collect: generates random pipelines (RandomPipeline.h), schedules each several times
// with HARL (its best pick plus randomised searches, so the model learns about the decisions
// it is asked to rank), measures every distinct schedule in a child process and stores the
// samples in a SQLite dataset (Dataset.h). Resumable: run the same command again after an
// interruption. Shardable: `--shard i/N` on N machines or processes, then `--merge`.
// `harl-collect --help` lists every option.
#include "Autoscheduler.h"
#include "CandidateOptions.h"
#include "ChildProcessRunner.h"
#include "Dataset.h"
#include "Errors.h"
#include "Hash.h"
#include "HostMachine.h"
#include "MeasureRealize.h"
#include "ModelWeights.h"
#include "PipelineScale.h"
#include "ProgressBar.h"
#include "RandomPipeline.h"
#include "Refeaturize.h"
#include "Remeasure.h"
#include "refine/SampleLog.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace po = boost::program_options;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

struct CollectConfig {
    std::string db = "harl_dataset.db";
    std::string shard = "0/1";
    int shard_index = 0, shard_count = 1;
    long long first_seed = 0;
    int pipelines = 0;                  // 0: no limit
    double minutes = 0;                 // 0: no limit
    int schedules = 10;                 // candidates per pipeline
    int min_stages = 2, max_stages = 8; // compile time grows with stages: more, smaller pipelines
    std::string target = "host";
    std::string machine_params;
    std::string machine;
    double timeout = 60, search_budget = 2;
    int min_runs = 3, max_runs = 1000, rounds = 5;
    double measure_seconds = 0.3; // 0.5 s until round 10 of the data; labels agree as well (README)
    bool quiet = false;
    std::string timing_lock = "/tmp/harl-collect-timing.lock";
    std::string cost_models = "analytic,learned";
    std::string family = "all";      // all, layers (DNN layer stacks only), general or dense
    std::vector<std::string> models; // cost_models, split
};

Halide::Target target_of(const CollectConfig &cfg) {
    return harl::target_named(cfg.target);
}

// FNV-1a of the schedule body (the header comment differs between candidates).
std::string schedule_hash(const std::string &source) {
    const std::string body = harl::schedule_body(source);
    std::ostringstream os;
    os << std::hex << harl::fnv1a(body.data(), body.size());
    return os.str();
}

// A default shown in --help as written (Boost prints 0.3 as 0.29999999999999999).
std::string shown(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

std::string describe_options(const harl::HarlOptions &o) {
    std::ostringstream os;
    os << "seed=" << o.seed << " randomize=" << o.randomize << " beam=" << o.beam_size
       << " model=" << o.cost_model;
    return os.str();
}

harl::MeasureOptions measure_options(const CollectConfig &cfg) {
    harl::MeasureOptions mo;
    mo.min_runs = cfg.min_runs;
    mo.max_runs = cfg.max_runs;
    mo.rounds = cfg.rounds;
    mo.target_seconds = cfg.measure_seconds;
    mo.timeout_seconds = cfg.timeout;
    mo.exclusive_lock_path = cfg.timing_lock;
    return mo;
}

void collect_pipeline(const CollectConfig &cfg, harl::Dataset &db, const harl::HarlOptions &base,
                      uint64_t seed, const std::function<void(int ok, int bad)> &on_sample) {
    const harl::SeedPipeline sp{seed, cfg.min_stages, cfg.max_stages, cfg.family == "dense"};
    const harl::PipelineScale ps = harl::pipeline_scale_of(seed);
    const int scale = ps.layers || sp.dense ? 0 : ps.spatial;
    const std::string key = harl::pipeline_key(sp);
    const std::string status = db.pipeline_status(key);
    if (status == "done" || status == "failed") return;
    const Halide::Target target = target_of(cfg);
    Halide::MachineParams mp(cfg.machine_params);
    {
        harl::RandomPipeline rp = harl::pipeline_of(sp);
        std::string kinds;
        for (const auto &k : rp.stage_kinds)
            kinds += (kinds.empty() ? "" : " ") + k;
        db.begin_pipeline(key, seed, harl::generator_version_of(sp), scale, (int)rp.stage_kinds.size(),
                          kinds);
    }
    std::vector<int> done = db.recorded_candidates(key);
    std::vector<std::pair<int, std::string>> hashes = db.schedule_hashes(key);
    for (int k = 0; k < cfg.schedules && !g_stop; k++) {
        if (std::find(done.begin(), done.end(), k) != done.end()) continue;
        // Building the pipeline (its input data) and the search must not disturb timed runs.
        auto busy = std::make_unique<harl::SharedTimingLock>(cfg.timing_lock);
        harl::RandomPipeline rp = harl::pipeline_of(sp);
        harl::HarlOptions opts = harl::candidate_options(base, seed, k, cfg.search_budget, cfg.models);
        // A pick Halide crashes on is measured (and recorded) as crashed: emitted without fused
        // loops instead, it would not match its features.
        opts.check_lowering = false;
        Halide::Pipeline p(rp.output);
        harl::AutoscheduleOutput out;
        try {
            out = harl::autoschedule(p, target, mp, opts);
        } catch (const std::exception &e) {
            if (k == 0) {
                db.finish_pipeline(key, "failed", e.what());
                std::cerr << "\nharl-collect: pipeline " << key << " skipped: " << e.what() << "\n";
                return;
            }
            continue;
        }
        harl::ScheduleRecord sr;
        sr.pipeline = key;
        sr.candidate = k;
        sr.options = describe_options(opts);
        sr.source = out.schedule_source;
        sr.source_hash = schedule_hash(out.schedule_source);
        sr.predicted_s = out.predicted_seconds;
        sr.search_s = out.search_seconds;
        for (const auto &h : hashes) {
            if (h.second == sr.source_hash) sr.duplicate_of = h.first;
        }
        hashes.emplace_back(k, sr.source_hash);
        if (sr.duplicate_of >= 0) {
            db.record(sr, nullptr);
            continue;
        }
        Halide::Buffer<float> output(rp.output_size);
        busy.reset(); // this process only waits while its child compiles (shared) and times (exclusive)
        harl::MeasureResult m = harl::measure_realize(p, target, output, measure_options(cfg));
        if (g_stop) return; // interrupted mid-measurement: the child was killed too; redo it later
        harl::SampleRecord s;
        s.pipeline = key;
        s.candidate = k;
        s.machine = cfg.machine;
        s.target = target.to_string();
        s.machine_params = cfg.machine_params;
        harl::set_measurement(m, &s);
        harl::decode_featurization(out.featurization, &s.layout_version); // CPU or GPU layout
        s.features = out.featurization;
        db.record(sr, &s);
        on_sample(m.ok(), !m.ok());
    }
    if (!g_stop) db.finish_pipeline(key, "done");
}

} // namespace

// Adds a HARL_SAMPLES file's records: one dataset pipeline per (label, target, machine_params),
// candidates numbered after those already there, records already imported skipped (by a hash of
// features and timings). Returns the samples added.
int import_samples(harl::Dataset &db, const std::string &path) {
    int added = 0;
    for (const harl::MeasuredSample &m : harl::read_measured_samples(path)) {
        uint32_t layout = 0;
        harl::decode_featurization(m.features, &layout); // rejects malformed features
        const std::string key = "measured-" + m.pipeline + "-" + m.target + "-" + m.machine_params;
        if (db.pipeline_status(key).empty()) db.begin_pipeline(key, 0, 0, 0, 0, "measured by HARL_MEASURE");
        std::ostringstream h;
        h << std::hex << harl::fnv1a(m.features.data(), m.features.size()) << "-" << m.runtime_s << "-"
          << m.median_s;
        bool seen = false;
        for (const auto &prev : db.schedule_hashes(key))
            seen = seen || prev.second == h.str();
        if (seen) continue;
        std::vector<int> done = db.recorded_candidates(key);
        const int k = done.empty() ? 0 : *std::max_element(done.begin(), done.end()) + 1;
        harl::ScheduleRecord sr;
        sr.pipeline = key;
        sr.candidate = k;
        sr.options = "HARL_MEASURE";
        sr.source_hash = h.str();
        harl::SampleRecord s;
        s.pipeline = key;
        s.candidate = k;
        s.machine = harl::hostname();
        s.target = m.target;
        s.machine_params = m.machine_params;
        s.status = m.status;
        s.message = m.message;
        s.runtime_s = m.runtime_s;
        s.median_s = m.median_s;
        s.compile_s = m.compile_s;
        s.runs = m.runs;
        s.layout_version = layout;
        s.features = m.features;
        db.record(sr, &s);
        db.finish_pipeline(key, "done");
        added++;
    }
    return added;
}

void report_refeaturized(const harl::RefeaturizeReport &r) {
    std::cout << "harl-collect: refeaturized " << r.refeaturized << " samples (feature layout "
              << harl::kFeatureLayoutVersion << "; " << r.changed
              << " of them with features the stored layout has changed by featurizer fixes); left out: "
              << r.skipped.no_decisions << " without stored decisions, " << r.skipped.not_rebuildable
              << " of pipelines this build no longer makes, " << r.failed << " whose replay failed\n";
    for (const auto &e : r.skipped.examples)
        std::cout << "  " << e << "\n";
}

// --remeasure: times INPUT's schedules again into --db (Remeasure.h) and reports what it did.
int remeasure(const CollectConfig &cfg, harl::Dataset &db, const std::string &input) {
    if (!std::ifstream(input).good()) throw harl::HarlError("--remeasure " + input + ": no such file");
    if (input == cfg.db) throw harl::HarlError("--remeasure writes into --db, which must be another file");
    harl::RemeasureOptions o;
    o.machine = cfg.machine;
    o.measure = measure_options(cfg);
    o.max_pipelines = cfg.pipelines;
    harl::warm_jit_runtime(target_of(cfg));
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    harl::ProgressBar bar;
    const harl::RemeasureReport r = harl::remeasure_dataset(
        input, db, o, [] { return g_stop != 0; },
        [&](int done, int total) {
            if (!cfg.quiet)
                bar.update((double)done / std::max(1, total),
                           std::to_string(done) + "/" + std::to_string(total) + " samples");
        });
    if (!cfg.quiet) bar.finish();
    std::cout << "harl-collect: " << (g_stop ? "interrupted (run the same command to resume); " : "")
              << "measured " << r.measured << " schedules again as machine " << cfg.machine << " ("
              << r.failed << " not ok), " << r.already << " already in " << cfg.db << "; skipped "
              << r.skipped.no_decisions << " without stored decisions, " << r.skipped.not_rebuildable
              << " of pipelines this build no longer makes, " << r.replay_failed
              << " that could not be replayed\n";
    for (const auto &e : r.skipped.examples)
        std::cout << "  " << e << "\n";
    return 0;
}

// "analytic,learned" -> {"analytic", "learned"}; a learned model's weights must load now, not
// fail every one of its candidates later.
std::vector<std::string> parse_cost_models(const std::string &list) {
    std::vector<std::string> models;
    std::stringstream ss(list);
    for (std::string m; std::getline(ss, m, ',');) {
        if (m != "analytic" && m != "learned")
            throw harl::HarlError("--cost-models " + list + ": '" + m + "' is not analytic or learned");
        models.push_back(m);
    }
    if (models.empty()) throw harl::HarlError("--cost-models: give at least one of analytic, learned");
    if (std::find(models.begin(), models.end(), "learned") != models.end()) {
        const char *w = std::getenv("HARL_WEIGHTS");
        if (w && *w) harl::load_weights(w); // throws, naming the file and the problem
    }
    return models;
}

// GPU targets are measured on the device: make sure one answers before collecting anything
// (a tiny pipeline, JIT-compiled and run in a child process like every candidate).
void check_device(const CollectConfig &cfg) {
    const Halide::Target target = target_of(cfg);
    if (!target.has_gpu_feature()) return;
    Halide::Var x("x"), xo("xo"), xi("xi");
    Halide::Func probe("probe");
    probe(x) = x * 2;
    probe.gpu_tile(x, xo, xi, 32);
    Halide::Buffer<int> out(256);
    harl::MeasureOptions mo;
    mo.min_runs = 1;
    mo.timeout_seconds = 120;
    harl::MeasureResult m = harl::measure_in_child(
        [&] {
            probe.compile_jit(target);
            probe.realize(out);
            out.copy_to_host();
            if (out(255) != 510) throw std::runtime_error("the device computed wrong values");
        },
        [&] { probe.realize(out); }, mo);
    if (!m.ok()) {
        std::string why = m.message;
        while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
            why.pop_back();
        why = why.substr(why.find_last_of('\n') + 1); // the runtime's conclusion
        throw harl::HarlError("--target " + cfg.target + ": no usable GPU device here (" + why +
                              "); harl-collect measures every schedule on the device, so run it on the "
                              "machine with the GPU and its driver (the CUDA driver for cuda targets)");
    }
}

int main(int argc, char **argv) {
    CollectConfig cfg;
    cfg.machine_params = harl::default_machine_params();
    cfg.machine = harl::hostname();
    std::vector<std::string> merge_inputs, import_inputs;
    std::string refeaturize_input, remeasure_input;
    bool strip_sources = false;
    po::options_description desc(
        "harl-collect: random pipelines -> HARL schedules -> measured training samples (SQLite)\n\n"
        "Usage: harl-collect [--db FILE] [--minutes M | --pipelines N] [--shard i/N]\n"
        "       harl-collect --db OUT.db --merge A.db B.db ...\n"
        "       harl-collect --db NEW.db --refeaturize OLD.db [--strip-sources]\n"
        "       harl-collect --db NEW.db --remeasure OLD.db [--pipelines N] [--machine NAME]\n\nOptions");
    desc.add_options()("help,h", "print this help (and the HARL_* options the searches read)")(
        "db", po::value(&cfg.db)->default_value(cfg.db), "dataset file (SQLite, created if missing)")(
        "minutes", po::value(&cfg.minutes)->default_value(0), "stop after this many minutes (0: no limit)")(
        "pipelines", po::value(&cfg.pipelines)->default_value(0),
        "stop after this many pipelines of this shard (0: no limit)")(
        "shard", po::value(&cfg.shard)->default_value(cfg.shard),
        "i/N: collect the seeds s with s % N == i (run N collectors, then --merge)")(
        "first-seed", po::value(&cfg.first_seed)->default_value(0), "first pipeline seed")(
        "family", po::value(&cfg.family)->default_value(cfg.family),
        "which seeds to collect: all (3 in 10 are DNN layer stacks), layers (only those), general "
        "(only the others) or dense (linear layers, softmax, layer norm: a seed space of its own)")(
        "schedules", po::value(&cfg.schedules)->default_value(cfg.schedules),
        "schedules per pipeline: HARL's pick plus randomised searches (duplicates are measured once)")(
        "min-stages", po::value(&cfg.min_stages)->default_value(cfg.min_stages),
        "fewest stages per pipeline")("max-stages", po::value(&cfg.max_stages)->default_value(cfg.max_stages),
                                      "most stages per pipeline")(
        "target", po::value(&cfg.target)->default_value(cfg.target), "Halide target string")(
        "machine-params", po::value(&cfg.machine_params)->default_value(cfg.machine_params),
        "parallelism,last-level-cache bytes,balance (as for generators)")(
        "machine", po::value(&cfg.machine)->default_value(cfg.machine), "name recorded with each sample")(
        "timeout", po::value(&cfg.timeout)->default_value(cfg.timeout),
        "seconds per candidate (compile + runs); a slower one is killed and recorded as timeout")(
        "min-runs", po::value(&cfg.min_runs)->default_value(cfg.min_runs),
        "timed runs per candidate at least (the minimum is recorded)")(
        "max-runs", po::value(&cfg.max_runs)->default_value(cfg.max_runs),
        "timed runs per candidate at most")(
        "rounds", po::value(&cfg.rounds)->default_value(cfg.rounds),
        "timed runs come in this many rounds, a pause between them: on a shared machine the minimum over "
        "separate rounds repeats far better than the minimum of one burst")(
        "measure-seconds",
        po::value(&cfg.measure_seconds)->default_value(cfg.measure_seconds, shown(cfg.measure_seconds)),
        "timed run time per candidate (over all rounds), unless --max-runs come first")(
        "timing-lock", po::value(&cfg.timing_lock)->default_value(cfg.timing_lock),
        "lock file: searches and compiles hold it shared, timed runs exclusive, so nothing of another "
        "collector runs while one times (wrap other heavy work in `flock -s FILE CMD` too)")(
        "search-budget", po::value(&cfg.search_budget)->default_value(cfg.search_budget),
        "seconds per HARL search")(
        "cost-models", po::value(&cfg.cost_models)->default_value(cfg.cost_models),
        "models steering the searches, candidate k using the (k mod n)-th: analytic, "
        "learned (HARL_WEIGHTS, else the shipped weights); each model's own pick "
        "comes first, then randomised searches")("quiet", po::bool_switch(&cfg.quiet), "no progress bar")(
        "merge", po::value(&merge_inputs)->multitoken(),
        "copy these dataset files into --db and exit")("import", po::value(&import_inputs)->multitoken(),
                                                       "add the measured candidates of HARL_MEASURE runs "
                                                       "(files written with HARL_SAMPLES) to --db and exit")(
        "refeaturize", po::value(&refeaturize_input),
        "copy this dataset into --db (a new file) with every sample's features recomputed for this build's "
        "feature layout, replaying the decisions stored with its schedule, and exit (Refeaturize.h)")(
        "remeasure", po::value(&remeasure_input),
        "time this dataset's schedules again on this machine (the first --pipelines pipelines, else all), "
        "replaying the decisions stored with each, into --db under the same pipelines and candidates "
        "with --machine as the machine, and exit: for measurement_agreement.py, or to label a dataset "
        "for a new machine without searching (Remeasure.h); resumable")(
        "strip-sources", po::bool_switch(&strip_sources),
        "shorten every schedule source in --db to its header comment, which still holds the decisions "
        "--refeaturize replays (for committing a dataset), and exit after any --merge/--refeaturize");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const std::exception &e) {
        std::cerr << "harl-collect: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc << "\nHARL options read from the environment by every search:\n"
                  << harl::options_help();
        return 0;
    }
    try {
        harl::Dataset db(cfg.db);
        if (!import_inputs.empty()) {
            for (const auto &in : import_inputs)
                std::cout << "harl-collect: imported " << in << ": " << import_samples(db, in)
                          << " new samples\n";
            auto c = db.counts();
            std::cout << cfg.db << ": " << c.pipelines_done << " pipelines, " << c.samples_ok << " samples\n";
            return 0;
        }
        if (!remeasure_input.empty()) return remeasure(cfg, db, remeasure_input);
        if (!merge_inputs.empty() || !refeaturize_input.empty() || strip_sources) {
            for (const auto &in : merge_inputs) {
                int added = db.merge_from(in);
                std::cout << "harl-collect: merged " << in << ": " << added << " rows added\n";
            }
            if (!refeaturize_input.empty()) report_refeaturized(refeaturize_dataset(refeaturize_input, db));
            if (strip_sources) std::cout << "harl-collect: " << db.strip_sources() << " sources shortened\n";
            auto c = db.counts();
            std::cout << cfg.db << ": " << c.pipelines_done << " pipelines, " << c.samples_ok << " samples\n";
            return 0;
        }
        if (std::sscanf(cfg.shard.c_str(), "%d/%d", &cfg.shard_index, &cfg.shard_count) != 2 ||
            cfg.shard_count < 1 || cfg.shard_index < 0 || cfg.shard_index >= cfg.shard_count) {
            throw harl::HarlError("--shard " + cfg.shard + ": expected i/N with 0 <= i < N");
        }
        if (cfg.min_stages < 1 || cfg.max_stages < cfg.min_stages) {
            throw harl::HarlError("--min-stages/--max-stages: need 1 <= min <= max");
        }
        if (cfg.pipelines <= 0 && cfg.minutes <= 0) {
            throw harl::HarlError("give --minutes or --pipelines (how long to collect)");
        }
        harl::seed_in_family(0, cfg.family); // throws on an unknown family
        cfg.models = parse_cost_models(cfg.cost_models);
        check_device(cfg);
        harl::warm_jit_runtime(target_of(cfg));
        std::vector<std::string> unknown;
        harl::HarlOptions base = harl::HarlOptions::from_environment(&unknown);
        for (const auto &u : unknown)
            std::cerr << "harl-collect: warning: unknown option " << u << " ignored\n";
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);

        harl::ProgressBar bar;
        int ok = 0, bad = 0, pipelines = 0;
        auto report = [&](bool force) {
            double f = 0;
            if (cfg.pipelines > 0) f = (double)pipelines / cfg.pipelines;
            if (cfg.minutes > 0) f = std::max(f, bar.elapsed() / (cfg.minutes * 60));
            bar.update(f,
                       std::to_string(pipelines) +
                           (cfg.pipelines > 0 ? "/" + std::to_string(cfg.pipelines) : "") + " pipelines, " +
                           std::to_string(ok) + " samples (" + std::to_string(bad) + " failed)",
                       force);
        };
        for (long long seed = cfg.first_seed; !g_stop; seed++) {
            if (seed % cfg.shard_count != cfg.shard_index) continue;
            if (!harl::seed_in_family((uint64_t)seed, cfg.family)) continue;
            if (cfg.pipelines > 0 && pipelines >= cfg.pipelines) break;
            if (cfg.minutes > 0 && bar.elapsed() > cfg.minutes * 60) break;
            if (!cfg.quiet) report(true);
            collect_pipeline(cfg, db, base, (uint64_t)seed, [&](int o, int b) {
                ok += o;
                bad += b;
                if (!cfg.quiet) report(false);
            });
            pipelines++;
        }
        if (!cfg.quiet) {
            report(true);
            bar.finish();
        }
        auto c = db.counts();
        std::cout << "harl-collect: " << (g_stop ? "interrupted (run the same command to resume); " : "")
                  << ok << " new samples (" << bad << " failed) this run; " << cfg.db << " holds "
                  << c.pipelines_done << " finished pipelines and " << c.samples_ok << " samples\n";
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "harl-collect: error: " << e.what() << "\n";
        return 1;
    }
}
