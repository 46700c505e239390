// harl-profile: where a stored schedule's time goes, Func by Func, beside a cost model's
// estimate of each. For a dataset's pipeline (harl-collect), every chosen candidate's schedule is
// replayed from its stored decisions on a fresh copy of the pipeline (ScheduleReplay.h),
// compiled with Halide's sampling profiler and realized in a child process (so a crash is
// reported, not fatal); the measured milliseconds per run of each Func are printed next to the
// model's estimate of the Func's stages and their ratio. This finds the stage a model
// misjudges when it ranks a pipeline's schedules wrongly (harl-train --evaluate --predictions
// lists those pipelines). The profiler samples which Func runs about every millisecond (its
// total per run matches the wall time of the profiled runs, printed beside it): pipelines of a
// few milliseconds or more give stable shares, shorter ones need more --seconds. With --csv and
// --pipelines N (instead of --pipeline), it profiles the first N pipelines of the dataset and
// writes one row per Func and candidate: per-Func labels to study a model's errors by stage.
// With --save it records each profile in the dataset itself (Dataset.h's func_profiles: every
// stage's Func and that Func's time), skipping schedules already profiled on that machine, so a
// long run resumes; harl-train --profile-weight then teaches the model where each schedule's
// time went, not only its total (FuncProfiles.h). --stmt and --asm write what Halide lowered and
// what LLVM made of each schedule (whether an update's accumulators stayed in registers, where
// it spilled), and --source the schedule as applied (with the storage bounds StorageBounds.h
// proves); with --no-run nothing is profiled: the model's estimates (and --features) are
// printed beside those files, a second or two per candidate. --count-stores CSV checks the
// featurizer's arithmetic instead: each candidate is realized once, in a child process, with
// every Func's stores traced, and the lanes stored per Func are written beside the points the
// featurizer counts for it.
// `harl-profile --help` lists every option.
#include "Autoscheduler.h"
#include "ChildProcessRunner.h"
#include "Dataset.h"
#include "Errors.h"
#include "FeatureLayout.h"
#include "HostMachine.h"
#include "HostTarget.h"
#include "ModelChoice.h"
#include "RandomPipeline.h"
#include "ReplayableSample.h"
#include "StageProfile.h"
#include "TempFile.h"

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <vector>

namespace po = boost::program_options;

namespace {

struct ProfileConfig {
    std::string db, pipeline, model = "shipped", timing_lock = "/tmp/harl-collect-timing.lock", csv;
    std::string stmt_dir;        // also write each candidate's lowered statement here
    std::string asm_dir;         // and its assembly here
    std::string source_dir;      // and the schedule as applied (with StorageBounds' bounds) here
    bool no_run = false;         // write those and print the estimates, without profiling
    std::vector<int> candidates; // empty: every replayable one
    int pipelines = 0;           // without --pipeline: the first this many of the dataset
    double seconds = 1, timeout = 120;
    bool features = false;
    std::string save_machine; // --save: record each profile in the dataset as measured on this machine
    std::string count_stores; // --count-stores: traced store lanes per Func against the featurizer's points
};

// --count-stores: every store of every Func of one realization, counted in lanes (a vector store
// is one trace event of several lanes). The handler runs on the thread pool's threads, in the
// child process that realizes the pipeline.
std::mutex g_store_mutex;
std::map<std::string, double> *g_store_lanes = nullptr;

int count_store(Halide::JITUserContext *, const halide_trace_event_t *e) {
    if (e->event == halide_trace_store && g_store_lanes) {
        std::lock_guard<std::mutex> lock(g_store_mutex);
        (*g_store_lanes)[e->func] += e->type.lanes;
    }
    return 0;
}

// Realizes `p` once with every Func's stores traced and writes, per Func, the lanes stored beside
// the featurizer's points (its stages' points_total summed): where the two disagree the features
// describe another computation than Halide's. The realization runs in a child process, like the
// profiled ones, so a candidate that crashes or hangs is reported, not fatal; the child writes
// its counts to a temporary file.
void count_stores(Halide::Pipeline &p, const harl::RandomPipeline &rp, const Halide::Target &target,
                  const std::vector<harl::StageEstimate> &est, const harl::Dataset::SourcedSample &s,
                  double timeout, const std::string &timing_lock, std::ofstream &csv) {
    for (auto &kv : Halide::Internal::find_transitive_calls(rp.output.function()))
        Halide::Func(kv.second).trace_stores();
    p.jit_handlers().custom_trace = count_store;
    const harl::TempFile file("harl-stores");
    if (!file.ok()) throw harl::HarlError("harl-profile: cannot create a temporary file in /tmp");
    const std::string &path = file.path();
    Halide::Buffer<float> output(rp.output_size);
    harl::MeasureOptions mo;
    mo.min_runs = mo.max_runs = 1;
    mo.timeout_seconds = timeout;
    // Nothing is timed here, but compiling and realizing keep a core busy: held shared, as
    // profile_candidate holds it for the replay, so that no timed run of a collector or a
    // profiler overlaps them.
    harl::SharedTimingLock busy(timing_lock);
    const harl::MeasureResult m = harl::measure_in_child([&] { p.compile_jit(target); },
                                                         [&] {
                                                             std::map<std::string, double> counted;
                                                             g_store_lanes = &counted;
                                                             p.realize(output);
                                                             g_store_lanes = nullptr;
                                                             std::ofstream out(path);
                                                             out.precision(17);
                                                             for (const auto &kv : counted)
                                                                 out << kv.second << " " << kv.first << "\n";
                                                         },
                                                         mo);
    if (!m.ok())
        throw harl::HarlError(std::string("the traced realization ") + m.status_name() +
                              (m.message.empty() ? "" : ": " + m.message));
    std::map<std::string, double> lanes;
    std::ifstream in(path);
    double n;
    std::string func;
    while (in >> n >> func)
        lanes[func] = n;
    std::map<std::string, double> points, padded, ms;
    std::map<std::string, int> stages;
    for (const auto &e : est) {
        points[e.func] += e.features[harl::F_points_total];
        padded[e.func] += e.features[harl::F_points_total] * e.features[harl::F_tile_padding];
        ms[e.func] += e.seconds * 1e3;
        stages[e.func]++;
    }
    for (const auto &kv : points)
        csv << s.sample.pipeline << "," << s.sample.candidate << ",\"" << kv.first << "\","
            << stages[kv.first] << "," << kv.second << "," << padded[kv.first] << ","
            << (lanes.count(kv.first) ? lanes.at(kv.first) : 0.0) << "," << ms[kv.first] << "\n";
    csv.flush();
}

void print_features(const harl::StageEstimate &e) {
    std::printf("      %s (%.4g ms):", e.stage.c_str(), e.seconds * 1e3);
    for (int i = harl::kNumPipelineFeatures; i < harl::kNumFeatures; i++)
        if (e.features[i] != 0) std::printf(" %s=%g", harl::feature_name(i), e.features[i]);
    std::printf("\n");
}

// The CSV's columns: one row per Func of a profiled candidate, with the features of its stage the
// model thinks costliest.
void write_csv_header(std::ostream &csv) {
    csv << "pipeline,candidate,func,stages,measured_ms,predicted_ms,profiled_total_ms,predicted_total_ms,"
           "collected_ms,stage";
    for (int i = 0; i < harl::kNumFeatures; i++)
        csv << "," << harl::feature_name(i);
    csv << "\n";
}

// One candidate: its Funcs' measured and estimated milliseconds per run, printed (and written
// to `csv` when it is open).
void profile_candidate(const ProfileConfig &cfg, const harl::Dataset::SourcedSample &s,
                       const harl::SeedPipeline &sp, std::ofstream &csv, harl::Dataset &db) {
    const Halide::Target target(s.sample.target);
    if (!(harl::runnable_here(target) == target))
        throw harl::HarlError("its target " + s.sample.target + " has features this CPU cannot run");
    const Halide::MachineParams mp(s.sample.machine_params);
    harl::RandomPipeline rp = harl::pipeline_of(sp);
    Halide::Pipeline p(rp.output);
    std::vector<harl::StageEstimate> est;
    std::vector<uint8_t> featurization; // what the stage order belongs to (--save)
    std::string applied_source;         // the schedule as applied (--source)
    {
        harl::SharedTimingLock busy(cfg.timing_lock);
        auto model = harl::make_cost_model(
            harl::options_for_cost_model(harl::HarlOptions::from_environment(), cfg.model),
            harl::make_machine_info(target, mp));
        est = harl::estimate_stored_schedule(p, target, mp, s.source, *model,
                                             cfg.save_machine.empty() ? nullptr : &featurization);
        applied_source = harl::apply_stored_schedule(p, target, mp, s.source);
    }
    const std::string name = s.sample.pipeline + "-c" + std::to_string(s.sample.candidate);
    if (!cfg.source_dir.empty()) {
        // The directives as applied: the stored decisions plus the storage bounds this build
        // proves (StorageBounds.h), which say which buffers left the heap.
        std::filesystem::create_directories(cfg.source_dir);
        const std::string file = cfg.source_dir + "/" + name + ".schedule.h";
        std::ofstream out(file);
        out << applied_source;
        if (!out) throw harl::HarlError("cannot write " + file);
        std::printf("%s candidate %d: schedule as applied in %s\n", s.sample.pipeline.c_str(),
                    s.sample.candidate, file.c_str());
    }
    const std::vector<Halide::Argument> args(rp.inputs.begin(), rp.inputs.end());
    if (!cfg.stmt_dir.empty()) {
        // Halide writes nothing, and says nothing, into a folder that does not exist.
        std::filesystem::create_directories(cfg.stmt_dir);
        // Halide's own lowering of the schedule: which buffers go on the heap, what the loops
        // and vectors became.
        const std::string file = cfg.stmt_dir + "/" + name + ".stmt";
        p.compile_to_lowered_stmt(file, args, Halide::StmtOutputFormat::Text, target);
        std::printf("%s candidate %d: lowered statement in %s\n", s.sample.pipeline.c_str(),
                    s.sample.candidate, file.c_str());
    }
    if (!cfg.asm_dir.empty()) {
        // What LLVM made of it: whether an update's accumulators stayed in registers, where it
        // spilled (its comments name the Halide loop each machine loop came from).
        std::filesystem::create_directories(cfg.asm_dir);
        const std::string file = cfg.asm_dir + "/" + name + ".s";
        p.compile_to_assembly(file, args, "harl_profiled", target);
        std::printf("%s candidate %d: assembly in %s\n", s.sample.pipeline.c_str(), s.sample.candidate,
                    file.c_str());
    }
    if (!cfg.count_stores.empty()) {
        count_stores(p, rp, target, est, s, cfg.timeout, cfg.timing_lock, csv);
        std::printf("%s candidate %d: stores counted\n", s.sample.pipeline.c_str(), s.sample.candidate);
        return;
    }
    std::map<std::string, double> est_ms;
    double est_total = 0;
    for (const auto &e : est) {
        est_ms[e.func] += e.seconds * 1e3;
        est_total += e.seconds * 1e3;
    }
    if (cfg.no_run) {
        std::printf("%s candidate %d: measured %.3f ms when collected (%s); not run (--no-run); %s predicts "
                    "%.3f ms\n",
                    s.sample.pipeline.c_str(), s.sample.candidate, s.sample.runtime_s * 1e3,
                    s.sample.machine.c_str(), cfg.model.c_str(), est_total);
        std::printf("  %-28s %12s %6s\n", "func", "predicted", "share");
        for (const auto &kv : est_ms) {
            std::printf("  %-28s %12.3f %5.0f%%\n", kv.first.c_str(), kv.second,
                        100 * kv.second / std::max(1e-12, est_total));
            if (cfg.features)
                for (const auto &st : est)
                    if (st.func == kv.first) print_features(st);
        }
        std::fflush(stdout);
        return;
    }
    harl::MeasureOptions mo;
    mo.min_runs = 3;
    mo.max_runs = 100000;
    mo.target_seconds = cfg.seconds;
    mo.timeout_seconds = cfg.timeout;
    mo.exclusive_lock_path = cfg.timing_lock;
    Halide::Buffer<float> output(rp.output_size);
    const harl::StageProfile prof = harl::profile_realize(p, target, output, mo);
    // The profiler's total per run beside the timed wall time of the same (profiled) runs.
    std::printf(
        "%s candidate %d: measured %.3f ms when collected (%s); profiled %.3f ms per run (%d runs, %s, "
        "median wall time %.3f ms); %s predicts %.3f ms\n",
        s.sample.pipeline.c_str(), s.sample.candidate, s.sample.runtime_s * 1e3, s.sample.machine.c_str(),
        prof.total_ms_per_run, prof.realizations, prof.measurement.status_name(),
        prof.measurement.median_seconds * 1e3, cfg.model.c_str(), est_total);
    std::printf("  %-28s %12s %6s %12s %6s %9s\n", "func", "measured ms", "share", "predicted", "share",
                "meas/pred");
    std::set<std::string> funcs;
    for (const auto &kv : prof.func_ms_per_run)
        funcs.insert(kv.first);
    for (const auto &kv : est_ms)
        funcs.insert(kv.first);
    for (const std::string &f : funcs) {
        const double m = prof.func_ms_per_run.count(f) ? prof.func_ms_per_run.at(f) : 0;
        const double e = est_ms.count(f) ? est_ms.at(f) : 0;
        if (m < 1e-3 * prof.total_ms_per_run && e < 1e-3 * est_total) continue; // negligible both ways
        std::printf("  %-28s %12.3f %5.0f%% %12.3f %5.0f%% ", f.c_str(), m,
                    100 * m / std::max(1e-12, prof.total_ms_per_run), e,
                    100 * e / std::max(1e-12, est_total));
        if (m > 0 && e > 0)
            std::printf("%8.2fx\n", m / e);
        else
            std::printf("%9s\n", e > 0 ? "inlined?" : "-");
        if (cfg.features)
            for (const auto &st : est)
                if (st.func == f) print_features(st);
        const harl::StageEstimate *costliest = nullptr;
        int stages = 0;
        for (const auto &st : est) {
            if (st.func != f) continue;
            stages++;
            if (!costliest || st.seconds > costliest->seconds) costliest = &st;
        }
        if (csv.is_open() && costliest) {
            csv << s.sample.pipeline << "," << s.sample.candidate << ",\"" << f << "\"," << stages << "," << m
                << "," << e << "," << prof.total_ms_per_run << "," << est_total << ","
                << s.sample.runtime_s * 1e3 << ",\"" << costliest->stage << "\"";
            for (float v : costliest->features)
                csv << "," << v;
            csv << "\n";
        }
    }
    if (csv.is_open()) csv.flush();
    if (!cfg.save_machine.empty()) {
        harl::FuncProfileRecord r;
        r.pipeline = s.sample.pipeline;
        r.candidate = s.sample.candidate;
        r.machine = cfg.save_machine;
        r.features_hash = harl::features_hash(featurization);
        r.total_ms = prof.total_ms_per_run;
        for (const auto &e : est) {
            r.stage_func.push_back(e.func);
            r.func_ms.push_back(prof.func_ms_per_run.count(e.func) ? prof.func_ms_per_run.at(e.func) : 0.0);
        }
        db.record_profile(r);
    }
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv) {
    ProfileConfig cfg;
    po::options_description desc("harl-profile: measures where a stored schedule's time goes, Func by Func, "
                                 "beside a cost model's estimates\n\nUsage: harl-profile --db DATASET "
                                 "--pipeline KEY [--candidates 0 3] [--model analytic|shipped|WEIGHTS]\n\n"
                                 "Options");
    desc.add_options()("help,h", "print this help")("db", po::value(&cfg.db), "dataset file (harl-collect)")(
        "pipeline", po::value(&cfg.pipeline), "pipeline key, as in the dataset (e.g. dl2-s100057)")(
        "pipelines", po::value(&cfg.pipelines),
        "instead of --pipeline: the first N pipelines of the dataset (by key) that have replayable samples")(
        "csv", po::value(&cfg.csv),
        "also write one row per Func and candidate to this CSV: measured and predicted ms and the features "
        "of "
        "the Func's costliest stage")(
        "candidates", po::value(&cfg.candidates)->multitoken(),
        "candidates to profile (default: every one with stored decisions and a measured sample)")(
        "model", po::value(&cfg.model)->default_value(cfg.model),
        "cost model whose per-stage estimates are shown: analytic, shipped (HARL's built-in weights) or a "
        "weights file")("seconds", po::value(&cfg.seconds)->default_value(cfg.seconds),
                        "profiled run time per candidate (the profiler samples about every millisecond)")(
        "timeout", po::value(&cfg.timeout)->default_value(cfg.timeout),
        "seconds per candidate (compile + runs) before the child is killed")(
        "features", po::bool_switch(&cfg.features), "also print every stage's nonzero schedule features")(
        "stmt", po::value(&cfg.stmt_dir),
        "also write each candidate's lowered statement (Halide's Stmt text) to this folder")(
        "asm", po::value(&cfg.asm_dir),
        "also write each candidate's assembly (Halide's compile_to_assembly, the code LLVM made) to this "
        "folder")("source", po::value(&cfg.source_dir),
                  "also write each candidate's schedule as applied (its .schedule.h: the stored "
                  "decisions and the storage bounds this build proves) to this folder")(
        "no-run", po::bool_switch(&cfg.no_run),
        "do not profile: print the model's estimate of each Func (and with --features of each "
        "stage) and write --stmt, --asm and --source only")(
        "timing-lock", po::value(&cfg.timing_lock)->default_value(cfg.timing_lock),
        "lock file shared with harl-collect: profiled runs hold it exclusive")(
        "save", po::value(&cfg.save_machine)->implicit_value(harl::hostname()),
        "record each profile in the dataset (--db), as measured on this machine name (default: the "
        "host name), for harl-train --profile-weight; candidates already profiled there are skipped, so "
        "an interrupted run resumes")(
        "count-stores", po::value(&cfg.count_stores),
        "instead of profiling: realize each candidate once with every Func's stores traced and write one "
        "row per Func to this CSV (pipeline, candidate, func, stages, the featurizer's points_total "
        "summed over the Func's stages, the same times each stage's tile_padding, the lanes Halide stored, "
        "the model's estimate of the Func in ms)");
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << desc << "\n";
            return 0;
        }
        if (cfg.db.empty() || cfg.pipeline.empty() == (cfg.pipelines <= 0))
            throw harl::HarlError("--db and one of --pipeline or --pipelines are required (see --help)");
        if (cfg.no_run && (!cfg.csv.empty() || !cfg.save_machine.empty()))
            throw harl::HarlError("--no-run profiles nothing: --csv and --save need the profiled runs");
        std::ofstream csv;
        if (!cfg.count_stores.empty()) {
            if (!cfg.csv.empty() || cfg.no_run || !cfg.save_machine.empty())
                throw harl::HarlError(
                    "--count-stores writes its own CSV: not with --csv, --no-run or --save");
            csv.open(cfg.count_stores);
            if (!csv) throw harl::HarlError("--count-stores " + cfg.count_stores + ": cannot write it");
            csv.precision(12); // counts of points run to billions
            csv << "pipeline,candidate,func,stages,featurized_points,padded_points,stored_lanes,predicted_"
                   "ms\n";
        } else if (!cfg.csv.empty()) {
            csv.open(cfg.csv);
            if (!csv) throw harl::HarlError("--csv " + cfg.csv + ": cannot write it");
            write_csv_header(csv);
        }
        harl::check_cost_model_name(cfg.model);
        const std::set<int> wanted(cfg.candidates.begin(), cfg.candidates.end());
        std::set<std::pair<std::string, int>> found;
        std::set<std::string> pipelines;
        harl::SkippedSamples skipped;
        int profiled = 0, already = 0;
        bool warmed = false;
        harl::Dataset db(cfg.db);
        for (const auto &s : db.sourced_samples()) { // by pipeline
            if (!cfg.pipeline.empty() && s.sample.pipeline != cfg.pipeline) continue;
            if (!wanted.empty() && !wanted.count(s.sample.candidate)) continue;
            if (s.sample.status != "ok") continue;
            const std::pair<std::string, int> key = {s.sample.pipeline, s.sample.candidate};
            if (found.count(key)) continue; // measured on several machines: once
            harl::SeedPipeline sp;
            if (!harl::replayable(s, &sp, &skipped)) continue;
            if (!pipelines.count(s.sample.pipeline)) {
                if (cfg.pipeline.empty() && (int)pipelines.size() == cfg.pipelines) break;
                pipelines.insert(s.sample.pipeline);
            }
            found.insert(key);
            if (!cfg.save_machine.empty() &&
                db.has_profile(s.sample.pipeline, s.sample.candidate, cfg.save_machine)) {
                already++; // by an earlier run
                continue;
            }
            if (!warmed && !cfg.no_run) {
                harl::warm_jit_runtime(Halide::Target(s.sample.target).with_feature(Halide::Target::Profile));
                warmed = true;
            }
            try {
                profile_candidate(cfg, s, sp, csv, db);
                profiled++;
            } catch (const std::exception &e) {
                std::printf("%s candidate %d: not profiled: %s\n", s.sample.pipeline.c_str(),
                            s.sample.candidate, e.what());
            }
        }
        for (int c : wanted)
            if (!cfg.pipeline.empty() && !found.count({cfg.pipeline, c}))
                std::printf("%s candidate %d: no replayable measured sample in %s\n", cfg.pipeline.c_str(), c,
                            cfg.db.c_str());
        for (const std::string &why : skipped.examples)
            std::printf("not replayable: %s\n", why.c_str());
        if (found.empty())
            throw harl::HarlError(cfg.db + " has no replayable measured sample" +
                                  (cfg.pipeline.empty() ? "" : " of pipeline " + cfg.pipeline));
        if (already > 0)
            std::printf("%d candidates already profiled on machine %s: skipped\n", already,
                        cfg.save_machine.c_str());
        return profiled + already > 0 ? 0 : 1;
    } catch (const std::exception &e) {
        std::cerr << "harl-profile: error: " << e.what() << "\n";
        return 1;
    }
}
