// Dataset: HARL's training data in SQLite (WAL mode, so several collectors can write one file
// and an interrupted run loses at most the candidate being measured).
//
// Tables (keys are natural, so files from several shards or machines merge without clashes):
//   pipelines(key, seed, generator_version, scale, stages, kinds, status, message)
//       status: 'running' while collected, 'done' when every candidate was tried, 'failed'
//       when HARL could not schedule it (message says why).
//   schedules(pipeline, candidate, options, source, source_hash, duplicate_of, predicted_s,
//             search_s)
//   samples(pipeline, candidate, machine, target, machine_params, status, runtime_s,
//           median_s, compile_s, runs, layout_version, features, message)
//       features: the HARLFEAT featurization bytes of the complete schedule; status is
//       ok / failed / crashed / timeout (runtime only for ok).
//   func_profiles(pipeline, candidate, machine, features_hash, stage, func, func_ms, total_ms)
//       harl-profile --save: one row per stage of a profiled schedule, in featurization order,
//       with its Func's milliseconds per run by Halide's sampling profiler (shared by the Func's
//       stages) and the profiled total per run; features_hash is fnv1a of the featurization
//       bytes the stage order belongs to (harl-train attaches the profile to the sample with
//       those features only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct sqlite3;

namespace harl {

struct ScheduleRecord {
    std::string pipeline;
    int candidate = 0;
    std::string options, source, source_hash;
    int duplicate_of = -1;
    double predicted_s = 0, search_s = 0;
};

struct SampleRecord {
    std::string pipeline;
    int candidate = 0;
    std::string machine, target, machine_params, status, message;
    double runtime_s = 0, median_s = 0, compile_s = 0;
    int runs = 0;
    uint32_t layout_version = 0;
    std::vector<uint8_t> features;
};

// FuncProfileRecord::features_hash of a sample's featurization bytes.
std::string features_hash(const std::vector<uint8_t> &featurization);

// A profiled schedule (func_profiles): per stage, its Func and that Func's milliseconds per run.
struct FuncProfileRecord {
    std::string pipeline;
    int candidate = 0;
    std::string machine, features_hash;
    std::vector<std::string> stage_func;
    std::vector<double> func_ms; // per stage: its Func's time (the same for every stage of a Func)
    double total_ms = 0;
};

class Dataset {
  public:
    // Opens (creating if needed) the database; throws HarlError with the path on failure.
    explicit Dataset(const std::string &path);
    ~Dataset();
    Dataset(const Dataset &) = delete;
    Dataset &operator=(const Dataset &) = delete;

    // Returns the pipeline's status, or "" when it is not in the file.
    std::string pipeline_status(const std::string &key);
    void begin_pipeline(const std::string &key, uint64_t seed, int generator_version, int scale, int stages,
                        const std::string &kinds);
    void finish_pipeline(const std::string &key, const std::string &status, const std::string &message = "");
    // Candidates of a pipeline already recorded (a resumed run skips them).
    std::vector<int> recorded_candidates(const std::string &key);
    // Schedule hashes already recorded for a pipeline, by candidate.
    std::vector<std::pair<int, std::string>> schedule_hashes(const std::string &key);
    // One transaction: a candidate's schedule and (unless it is a duplicate) its sample.
    void record(const ScheduleRecord &s, const SampleRecord *sample);

    // A sample alone, for a schedule already in the file (harl-collect --remeasure).
    void record_sample(const SampleRecord &sample);
    bool has_sample(const std::string &pipeline, int candidate, const std::string &machine);

    // One transaction: a profiled schedule's rows (replacing any earlier profile of it on that
    // machine).
    void record_profile(const FuncProfileRecord &p);
    bool has_profile(const std::string &pipeline, int candidate, const std::string &machine);
    // Every profile, stages in order.
    std::vector<FuncProfileRecord> profiles();

    // Every sample with status ok (for training and reports), ordered by pipeline.
    std::vector<SampleRecord> ok_samples();
    struct Counts {
        int pipelines_done = 0, pipelines_failed = 0, samples_ok = 0, samples_bad = 0;
    };
    Counts counts();

    // Every sample (any status) with its pipeline's seed and its schedule's source, for
    // refeaturizing: SampleRecord fields plus these.
    struct SourcedSample {
        SampleRecord sample;
        long long seed = 0;
        std::string source;
    };
    std::vector<SourcedSample> sourced_samples();
    // Replaces a sample's features (and layout version), or deletes the sample.
    void set_features(const SampleRecord &s);
    void delete_sample(const SampleRecord &s);
    // Keeps only the header comment (with the "// Decisions:" block) of every schedule source:
    // enough to refeaturize, a tenth of the size. Returns the sources shortened.
    int strip_sources();

    // Copies every row of `other` that this file lacks (by key); returns rows added. Without
    // samples: its pipelines and schedules only.
    int merge_from(const std::string &other_path, bool with_samples = true);

    const std::string &path() const { return path_; }

  private:
    void exec(const std::string &sql);
    void insert_sample(const SampleRecord &sample);
    std::string path_;
    sqlite3 *db_ = nullptr;
};

} // namespace harl
