// harl-host-target: prints the Halide target string of code that runs on this machine, for
// generator runs and scripts that would say target=host (apps/bench.py). Halide 14's own "host"
// takes AMD Zen 4 for Sapphire Rapids, whose code dies of SIGILL there (autoscheduler/HostTarget.h).
// With an argument ("host-opencl"), prints that target with "host" resolved the same way.
#include "HostTarget.h"

#include <cstdio>
#include <string>

int main(int argc, char **argv) {
    if (argc > 2 || (argc == 2 && std::string(argv[1]).rfind("host", 0) != 0)) {
        std::fprintf(stderr, "usage: harl-host-target [host[-FEATURE...]]\n");
        return 2;
    }
    std::printf("%s\n", harl::target_named(argc == 2 ? argv[1] : "host").to_string().c_str());
    return 0;
}
