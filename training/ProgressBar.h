// A one-line progress bar on stderr with elapsed time and an estimate of the time left; on a
// non-terminal it prints a plain line at most every few seconds instead.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace harl {

class ProgressBar {
  public:
    ProgressBar() : start_(std::chrono::steady_clock::now()), tty_(isatty(2)) {}

    double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

    // fraction in [0, 1] of the whole job; text describes the counts.
    void update(double fraction, const std::string &text, bool force = false) {
        double now = elapsed();
        if (!force && now - last_ < (tty_ ? 0.2 : 10.0)) return;
        last_ = now;
        fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
        const int width = 24;
        int filled = (int)(fraction * width);
        std::string bar(filled, '#');
        bar += std::string(width - filled, '.');
        std::string left = fraction > 0.01 ? clock_text(now / fraction - now) : "?";
        std::fprintf(stderr, "%s[%s] %3d%% %s | %s elapsed, ~%s left%s", tty_ ? "\r" : "", bar.c_str(),
                     (int)(fraction * 100), text.c_str(), clock_text(now).c_str(), left.c_str(),
                     tty_ ? "\033[K" : "\n");
        std::fflush(stderr);
    }
    void finish() {
        if (tty_) std::fputc('\n', stderr);
    }

    static std::string clock_text(double s) {
        long t = (long)s;
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
        return buf;
    }

  private:
    std::chrono::steady_clock::time_point start_;
    bool tty_;
    double last_ = -1e9;
};

} // namespace harl
