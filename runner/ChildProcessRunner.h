// ChildProcessRunner: measures a compiled candidate in a forked child process, so that a
// candidate which crashes, hangs or runs out of memory is recorded as failed and cannot take
// the caller (a generator, the data collector) down with it.
//
// The child inherits the caller's memory (the scheduled Funcs), runs `prepare` once (JIT
// compilation, a warm-up run), then `run_once` until it has at least `min_runs` timings and
// either `max_runs` of them or `target_seconds` of total run time, and reports the minimum.
// The parent waits at most `timeout_seconds` for all of it, then kills the child.
#pragma once

#include <functional>
#include <string>

namespace harl {

struct MeasureOptions {
    int min_runs = 3;
    int max_runs = 20;
    double target_seconds = 0.5; // stop adding runs past this much total run time
    double timeout_seconds = 60; // compile + every run
    // When set, the timed runs hold an exclusive flock() on this file: collectors sharing a
    // machine then compile in parallel but never time at the same moment.
    std::string exclusive_lock_path;
};

struct MeasureResult {
    enum class Status { Ok, Failed, Crashed, TimedOut };
    Status status = Status::Failed;
    double min_seconds = 0;
    double median_seconds = 0;
    double compile_seconds = 0;
    int runs = 0;
    std::string message; // why it failed, for the record
    bool ok() const { return status == Status::Ok; }
    const char *status_name() const;
};

MeasureResult measure_in_child(const std::function<void()> &prepare, const std::function<void()> &run_once,
                               const MeasureOptions &opts);

} // namespace harl
