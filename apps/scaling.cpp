// Search cost against pipeline size: autoschedules synthetic pipelines of N stages (stencils,
// pointwise stages, reductions and Funcs with two consumers, repeating) with HARL's default
// options and no time limit, and prints N, the cost model, seconds (the whole autoschedule
// call: analysis, beam search, refinement, the final lowering check), states evaluated by the
// beam search, states per second over those seconds, the beam search's own seconds and its
// states per second (the rate at which it featurizes and scores partial schedules), and the
// process's peak RSS.
// `make bench` runs it; the search should grow about linearly in N.
#include "Autoscheduler.h"
#include "HostTarget.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using namespace Halide;

namespace {

long peak_rss_mb() {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);) {
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6) / 1024;
    }
    return -1;
}

Func build(int stages, ImageParam &in) {
    Var x("x"), y("y");
    Func prev = BoundaryConditions::repeat_edge(in), side;
    for (int i = 0; i < stages; i++) {
        Func f("s" + std::to_string(i));
        switch (i % 4) {
        case 0:
            f(x, y) = (prev(x - 1, y) + 2.0f * prev(x, y) + prev(x + 1, y)) * 0.25f;
            break;
        case 1:
            f(x, y) =
                (prev(x, y - 1) + prev(x, y + 1)) * 0.5f + (side.defined() ? Expr(side(x, y)) : Expr(0.0f));
            break;
        case 2: {
            RDom r(-1, 3);
            f(x, y) = 0.0f;
            f(x, y) += prev(x + r, y) * prev(x, y + r);
            break;
        }
        default:
            f(x, y) = sqrt(abs(prev(x, y))) + 1.0f;
            side = prev;
        }
        prev = f;
    }
    prev.set_estimates({{0, 1536}, {0, 1024}});
    return prev;
}

} // namespace

int main(int argc, char **argv) {
    // One core, as the search runs: states per second is the rate at which beam search
    // featurizes and scores partial schedules with the cost model.
    std::printf("stages,cost_model,seconds,states,states_per_second,search_seconds,search_states_per_second,"
                "peak_rss_mb\n");
    for (int i = 1; i < argc; i++) {
        int n = std::atoi(argv[i]);
        ImageParam in(Float(32), 2, "in");
        in.set_estimates({{0, 1536}, {0, 1024}});
        Func out = build(n, in);
        harl::HarlOptions opts = harl::HarlOptions::from_environment();
        opts.time_budget_s = 0; // no limit: measure the search itself
        auto t0 = std::chrono::steady_clock::now();
        harl::AutoscheduleOutput res =
            harl::autoschedule(Pipeline(out), harl::host_target(), MachineParams(2, 32 << 20, 40), opts);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%d,%s,%.3f,%d,%.0f,%.3f,%.0f,%ld\n", n, opts.cost_model.c_str(), s, res.states_evaluated,
                    res.states_evaluated / s, res.search_seconds, res.states_evaluated / res.search_seconds,
                    peak_rss_mb());
        std::fflush(stdout);
    }
    return 0;
}
