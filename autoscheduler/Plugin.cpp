// libharl_autosched.so: registers the autoscheduler "HARL" with Halide when loaded
// (`-p libharl_autosched.so -s HARL`). All logic lives in the harl_core library.
#include "Autoscheduler.h"
#include "Errors.h"

#include <iostream>

namespace {

void harl_autoscheduler(const Halide::Pipeline &p, const Halide::Target &t, const Halide::MachineParams &mp,
                        Halide::AutoSchedulerResults *results) {
    std::vector<std::string> unknown;
    harl::HarlOptions opts;
    try {
        opts = harl::HarlOptions::from_environment(&unknown);
    } catch (const harl::HarlError &e) {
        std::cerr << e.what() << "\n";
        throw;
    }
    for (const auto &u : unknown) {
        std::cerr << "HARL: warning: unknown environment variable " << u << " ignored; known options:\n"
                  << harl::options_help();
    }
    try {
        harl::AutoscheduleOutput out = harl::autoschedule(p, t, mp, opts);
        results->scheduler_name = "HARL";
        results->target = t;
        results->machine_params_string = mp.to_string();
        results->schedule_source = out.schedule_source;
        results->featurization = out.featurization;
    } catch (const harl::HarlError &e) {
        // Generators report exceptions tersely; say it in full first.
        std::cerr << e.what() << "\n";
        throw;
    }
}

struct RegisterHarl {
    RegisterHarl() {
        Halide::Pipeline::add_autoscheduler("HARL", harl_autoscheduler);
        // add_halide_library(... AUTOSCHEDULER HARL::harl_autosched) selects "-s harl_autosched".
        Halide::Pipeline::add_autoscheduler("harl_autosched", harl_autoscheduler);
    }
} register_harl;

} // namespace
