#include "ChildProcessRunner.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/file.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace harl {
namespace {

// What the child writes to the pipe: one byte before and after each wait for the timing lock
// (the parent stops the timeout's clock in between), kReportFollows, then a fixed header, then
// the message bytes.
constexpr char kLockWaitBegins = 'w', kLockWaitEnds = 'g', kReportFollows = 'r';
struct Report {
    int ok = 0;
    int runs = 0;
    double min_s = 0, median_s = 0, compile_s = 0;
    int message_len = 0;
};

void write_all(int fd, const void *p, size_t n) {
    const char *c = (const char *)p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        c += w;
        n -= (size_t)w;
    }
}

// Descriptors of the SharedTimingLocks alive in this process. A forked child inherits them, and
// a flock() lives until every descriptor of it is closed: the child closes its copies first, or
// its own exclusive lock would wait for the parent's shared one forever. Lock-free slots, since
// another thread may hold any mutex at the moment of fork().
constexpr int kMaxSharedLocks = 64;
std::atomic<int> g_shared_lock_fds[kMaxSharedLocks];

void remember_shared_lock(int fd) {
    for (auto &slot : g_shared_lock_fds) {
        int empty = 0; // slots hold fd + 1, 0 when free
        if (slot.compare_exchange_strong(empty, fd + 1)) return;
    }
    throw std::runtime_error("more than 64 SharedTimingLocks at once");
}

void forget_shared_lock(int fd) {
    for (auto &slot : g_shared_lock_fds) {
        int mine = fd + 1;
        if (slot.compare_exchange_strong(mine, 0)) return;
    }
}

void close_inherited_shared_locks() {
    for (auto &slot : g_shared_lock_fds) {
        int v = slot.exchange(0);
        if (v > 0) close(v - 1);
    }
}

// flock()s `fd` (LOCK_SH or LOCK_EX; converting a held lock too), retrying on signals.
void flock_or_throw(int fd, int how, const std::string &path) {
    while (flock(fd, how) != 0) {
        if (errno != EINTR) throw std::runtime_error("cannot lock " + path + ": " + std::strerror(errno));
    }
}

// Opens `path` and flock()s it; the lock goes with the descriptor.
int lock_file(const std::string &path, int how) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) throw std::runtime_error("cannot open the timing lock " + path + ": " + std::strerror(errno));
    try {
        flock_or_throw(fd, how, path);
    } catch (...) {
        close(fd);
        throw;
    }
    return fd;
}

[[noreturn]] void child_main(int fd, const std::function<void()> &prepare,
                             const std::function<void()> &run_once, const MeasureOptions &opts) {
    using clock = std::chrono::steady_clock;
    Report r;
    std::string msg;
    close_inherited_shared_locks();
    // Waiting for other processes is not this candidate's time: tell the parent.
    auto waiting = [&](const std::function<void()> &wait) {
        write_all(fd, &kLockWaitBegins, 1);
        wait();
        write_all(fd, &kLockWaitEnds, 1);
    };
    try {
        // Compile under a shared lock, time under an exclusive one (released when the child
        // exits). flock() converts SH to EX by releasing first, so two children never deadlock.
        int lock = -1;
        if (!opts.exclusive_lock_path.empty())
            waiting([&] { lock = lock_file(opts.exclusive_lock_path, LOCK_SH); });
        auto t0 = clock::now();
        prepare();
        r.compile_s = std::chrono::duration<double>(clock::now() - t0).count();
        if (lock >= 0) waiting([&] { flock_or_throw(lock, LOCK_EX, opts.exclusive_lock_path); });
        // `rounds` rounds, each with its share of the runs and of the time, a short pause
        // between them: on a shared machine a whole round can be slowed down together, and the
        // minimum over separate rounds is what repeats from one measurement to the next.
        std::vector<double> times;
        const int rounds = std::max(1, opts.rounds);
        const int round_min_runs = std::max(1, (opts.min_runs + rounds - 1) / rounds);
        const int round_max_runs = std::max(round_min_runs, opts.max_runs / rounds);
        for (int round = 0; round < rounds; round++) {
            if (round > 0) std::this_thread::sleep_for(std::chrono::duration<double>(opts.round_gap_seconds));
            double total = 0;
            for (int run = 0; run < round_max_runs; run++) {
                auto a = clock::now();
                run_once();
                double t = std::chrono::duration<double>(clock::now() - a).count();
                times.push_back(t);
                total += t;
                if (run + 1 >= round_min_runs && total >= opts.target_seconds / rounds) break;
            }
        }
        std::sort(times.begin(), times.end());
        r.ok = 1;
        r.runs = (int)times.size();
        r.min_s = times.front();
        r.median_s = times[times.size() / 2];
    } catch (const std::exception &e) {
        msg = e.what();
    } catch (...) {
        msg = "unknown exception";
    }
    if (msg.size() > 4000) msg.resize(4000);
    r.message_len = (int)msg.size();
    write_all(fd, &kReportFollows, 1);
    write_all(fd, &r, sizeof(r));
    write_all(fd, msg.data(), msg.size());
    close(fd);
    _exit(0); // no static destructors: the parent owns them
}

// A wait for the timing lock longer than this is reported as a timeout (something holds it).
constexpr int kMaxLockWaitSeconds = 3600;

// Reads exactly n bytes unless the deadline passes or the child closes the pipe.
bool read_until(int fd, void *p, size_t n, std::chrono::steady_clock::time_point deadline, bool *timed_out) {
    char *c = (char *)p;
    while (n > 0) {
        int left_ms = (int)std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
        if (left_ms <= 0) {
            *timed_out = true;
            return false;
        }
        pollfd pfd{fd, POLLIN, 0};
        int pr = poll(&pfd, 1, left_ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) {
            *timed_out = true;
            return false;
        }
        ssize_t got = read(fd, c, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        c += got;
        n -= (size_t)got;
    }
    return true;
}

} // namespace

SharedTimingLock::SharedTimingLock(const std::string &path) {
    if (path.empty()) return;
    fd_ = lock_file(path, LOCK_SH);
    remember_shared_lock(fd_);
}

SharedTimingLock::~SharedTimingLock() {
    if (fd_ < 0) return;
    forget_shared_lock(fd_);
    close(fd_);
}

const char *MeasureResult::status_name() const {
    switch (status) {
    case Status::Ok:
        return "ok";
    case Status::Failed:
        return "failed";
    case Status::Crashed:
        return "crashed";
    case Status::TimedOut:
        return "timeout";
    }
    return "?";
}

MeasureResult measure_in_child(const std::function<void()> &prepare, const std::function<void()> &run_once,
                               const MeasureOptions &opts) {
    MeasureResult res;
    int fds[2];
    if (pipe(fds) != 0) {
        res.message = std::string("pipe() failed: ") + std::strerror(errno);
        return res;
    }
    pid_t pid = fork();
    if (pid < 0) {
        res.message = std::string("fork() failed: ") + std::strerror(errno);
        close(fds[0]);
        close(fds[1]);
        return res;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], prepare, run_once, opts);
    }
    close(fds[1]);
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + std::chrono::milliseconds((long long)(opts.timeout_seconds * 1000));
    Report r;
    bool timed_out = false, lock_timed_out = false;
    // Lock waits move the deadline back by their length, up to kMaxLockWait each.
    const auto max_lock_wait = std::chrono::seconds(kMaxLockWaitSeconds);
    char tag = 0;
    bool got = true;
    while (got && tag != kReportFollows) {
        got = read_until(fds[0], &tag, 1, deadline, &timed_out);
        if (got && tag == kLockWaitBegins) {
            const auto began = clock::now();
            got = read_until(fds[0], &tag, 1, began + max_lock_wait, &lock_timed_out);
            timed_out = lock_timed_out;
            deadline += clock::now() - began;
        }
    }
    if (got) got = read_until(fds[0], &r, sizeof(r), deadline, &timed_out);
    std::string msg;
    if (got && r.message_len > 0) {
        msg.resize((size_t)r.message_len);
        got = read_until(fds[0], msg.data(), msg.size(), deadline, &timed_out);
    }
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        res.status = MeasureResult::Status::TimedOut;
        res.message = lock_timed_out ? "waited more than " + std::to_string(kMaxLockWaitSeconds) +
                                           " s for the timing lock " + opts.exclusive_lock_path + " (killed)"
                                     : "no result within " + std::to_string(opts.timeout_seconds) +
                                           " s, not counting waits for the timing lock (killed)";
    } else if (!got) {
        res.status = MeasureResult::Status::Crashed;
        res.message =
            WIFSIGNALED(wstatus)
                ? std::string("child died of signal ") + strsignal(WTERMSIG(wstatus))
                : "child exited without a result (status " + std::to_string(WEXITSTATUS(wstatus)) + ")";
    } else if (!r.ok) {
        res.status = MeasureResult::Status::Failed;
        res.message = msg;
    } else {
        res.status = MeasureResult::Status::Ok;
        res.min_seconds = r.min_s;
        res.median_seconds = r.median_s;
        res.compile_seconds = r.compile_s;
        res.runs = r.runs;
    }
    return res;
}

} // namespace harl
