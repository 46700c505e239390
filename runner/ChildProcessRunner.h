// ChildProcessRunner: measures a compiled candidate in a forked child process, so that a
// candidate which crashes, hangs or runs out of memory is recorded as failed and cannot take
// the caller (a generator, the data collector) down with it.
//
// The child inherits the caller's memory (the scheduled Funcs), runs `prepare` once (JIT
// compilation, a warm-up run), then `run_once` until it has at least `min_runs` timings and
// either `max_runs` of them or `target_seconds` of total run time (in `rounds` rounds), and
// reports the minimum.
// The parent waits at most `timeout_seconds` for all of it, then kills the child. Waits for the
// timing lock (below) do not count: other processes' work is not the candidate's.
#pragma once

#include <functional>
#include <string>

namespace harl {

struct MeasureOptions {
    int min_runs = 3;
    int max_runs = 20;
    double target_seconds = 0.5; // stop adding runs past this much total run time
    double timeout_seconds = 60; // compile + every run, not counting waits for the timing lock
    // Timed runs in this many rounds (runs and time split evenly), round_gap_seconds apart;
    // the minimum over all of them is reported.
    int rounds = 1;
    double round_gap_seconds = 0.03;
    // When set, compilation holds a shared flock() on this file and the timed runs an
    // exclusive one: collectors sharing a machine compile in parallel, but nothing that holds
    // the lock (another collector's compile or search, a SharedTimingLock) runs while one is timed.
    std::string exclusive_lock_path;
};

// A shared flock() on a timing lock file (see MeasureOptions::exclusive_lock_path), held for
// the object's lifetime: wrap CPU-heavy work that must not overlap other processes' timed runs.
// A measuring child closes the copies it inherits, so holding one across measure_in_child()
// delays that child's timed runs until the holder lets go, like any other process's.
class SharedTimingLock {
  public:
    explicit SharedTimingLock(const std::string &path); // empty path: no lock
    ~SharedTimingLock();
    SharedTimingLock(const SharedTimingLock &) = delete;
    SharedTimingLock &operator=(const SharedTimingLock &) = delete;

  private:
    int fd_ = -1;
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
