// What the training tools (harl-collect, harl-compare) need to know about and prepare on the
// machine they measure on.
#pragma once

#include "Halide.h"
#include "HostTarget.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace harl {

// The machine name the training tools record with measurements by default.
inline std::string hostname() {
    char buf[256] = {0};
    gethostname(buf, sizeof(buf) - 1);
    return buf;
}

// Bytes of the largest CPU cache sysfs reports (16 MB when it reports none).
inline long long detect_llc_bytes() {
    for (int idx = 4; idx >= 2; idx--) {
        std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(idx) + "/size");
        std::string s;
        if (f >> s && !s.empty()) {
            long long v = std::atoll(s.c_str());
            if (s.back() == 'K') v *= 1024;
            if (s.back() == 'M') v *= 1024 * 1024;
            if (v > 0) return v;
        }
    }
    return 16 << 20;
}

// "parallelism,last-level-cache bytes,balance" of this machine, as generators take them.
inline std::string default_machine_params() {
    return std::to_string(std::max(1u, std::thread::hardware_concurrency())) + "," +
           std::to_string(detect_llc_bytes()) + ",40";
}

// JIT-compiles Halide's runtime once in this process, so that measuring children forked later
// inherit it instead of each compiling it again (about 0.6 s per candidate). Nothing runs: the
// runtime's thread pool must not exist before fork().
inline void warm_jit_runtime(const Halide::Target &target) {
    if (target.has_gpu_feature()) return; // the device runtime is set up in each child
    Halide::Var x("x");
    Halide::Func warm("warm_jit_runtime");
    warm(x) = x;
    warm.compile_jit(target);
}

} // namespace harl
