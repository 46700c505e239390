#include "Options.h"
#include "Errors.h"

#include <cstdlib>
#include <functional>
#include <sstream>

extern char **environ;

namespace harl {
namespace {

struct OptionSpec {
    const char *name;
    const char *default_text;
    const char *help;
    std::function<void(HarlOptions &, const std::string &)> parse;
};

long long parse_int(const std::string &name, const std::string &v, long long lo, long long hi) {
    char *end = nullptr;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || x < lo || x > hi) {
        throw HarlError(name + "=" + v + " is not an integer in [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
    }
    return x;
}

double parse_double(const std::string &name, const std::string &v, double lo, double hi) {
    char *end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(x >= lo && x <= hi)) {
        std::ostringstream os;
        os << name << "=" << v << " is not a number in [" << lo << ", " << hi << "]";
        throw HarlError(os.str());
    }
    return x;
}

const std::vector<OptionSpec> &specs() {
    static const std::vector<OptionSpec> table = {
        {"HARL_BEAM_SIZE", "8", "search states kept after each decision (1 = greedy)",
         [](HarlOptions &o, const std::string &v) {
             o.beam_size = (int)parse_int("HARL_BEAM_SIZE", v, 1, 1024);
         }},
        {"HARL_SEED", "0", "random seed; the same seed and options give the same schedule",
         [](HarlOptions &o, const std::string &v) {
             o.seed = (uint64_t)parse_int("HARL_SEED", v, 0, (long long)9e18);
         }},
        {"HARL_TIME_BUDGET", "10",
         "wall-clock seconds for the search; when spent, the search finishes greedily",
         [](HarlOptions &o, const std::string &v) {
             o.time_budget_s = parse_double("HARL_TIME_BUDGET", v, 0, 1e6);
         }},
        {"HARL_MAX_CANDIDATES", "48", "loop-nest candidates tried per Func and placement",
         [](HarlOptions &o, const std::string &v) {
             o.max_candidates = (int)parse_int("HARL_MAX_CANDIDATES", v, 1, 100000);
         }},
        {"HARL_RANDOMIZE", "0",
         "probability in [0,1] of replacing a decision by a random legal one (data collection)",
         [](HarlOptions &o, const std::string &v) { o.randomize = parse_double("HARL_RANDOMIZE", v, 0, 1); }},
        {"HARL_VERBOSE", "0",
         "0 quiet, 1 summary, 2 decisions and chosen stage features, 3 best candidates, 4 all candidates "
         "(stderr)",
         [](HarlOptions &o, const std::string &v) { o.verbose = (int)parse_int("HARL_VERBOSE", v, 0, 4); }},
        {"HARL_COST_MODEL", "auto",
         "learned (the per-stage network: HARL_WEIGHTS, else the shipped weights), analytic (the "
         "hand-written model), or auto: learned on CPU targets, and on GPU targets when HARL_WEIGHTS is "
         "set (no GPU weights are shipped), else analytic",
         [](HarlOptions &o, const std::string &v) {
             if (v != "auto" && v != "learned" && v != "analytic") {
                 throw HarlError("HARL_COST_MODEL=" + v +
                                 " is not a cost model: use auto, learned or analytic");
             }
             o.cost_model = v;
         }},
        {"HARL_WEIGHTS", "(shipped)",
         "weights file for the learned model, from harl-train; unset = the weights built into HARL "
         "(those trained on an AVX-512 machine for x86 targets with AVX-512, else those trained on an "
         "AVX2 machine)",
         [](HarlOptions &o, const std::string &v) {
             if (v.empty()) throw HarlError("HARL_WEIGHTS is empty: give a weights file, or unset it");
             o.weights = v;
         }},
        {"HARL_GPU_INIT", "valid",
         "GPU targets: valid draws kernel shapes from what the target can launch (threads, shared "
         "memory, registers, grid); naive draws them unconstrained (invalid ones are still rejected "
         "before scoring; for measuring the difference)",
         [](HarlOptions &o, const std::string &v) {
             if (v != "valid" && v != "naive") throw HarlError("HARL_GPU_INIT=" + v + ": use valid or naive");
             o.gpu_init = v;
         }},
        {"HARL_DROPOUT", "0",
         "probability in [0,1) of dropping each candidate of a decision (the dropout-greedy autotuning "
         "baseline; at least one candidate is kept)",
         [](HarlOptions &o, const std::string &v) { o.dropout = parse_double("HARL_DROPOUT", v, 0, 0.99); }},
        {"HARL_RL_BUDGET", "0",
         "seconds for the RL refinement pass with cost-model rewards after beam search (0 = off: in make "
         "bench it picked slower schedules than beam search alone, the cost model being wrong where the "
         "RL pass finds gains; HARL_MEASURE runs RL with measured rewards regardless)",
         [](HarlOptions &o, const std::string &v) {
             o.rl_budget_s = parse_double("HARL_RL_BUDGET", v, 0, 1e6);
         }},
        {"HARL_RL_PATIENCE", "8",
         "RL episodes in a row without improvement after which the pass stops (with HARL_MEASURE: x4, "
         "counted in measuring rounds)",
         [](HarlOptions &o, const std::string &v) {
             o.rl_patience = (int)parse_int("HARL_RL_PATIENCE", v, 1, 100000);
         }},
        {"HARL_RL_EPISODES", "40", "most RL episodes (model rewards)",
         [](HarlOptions &o, const std::string &v) {
             o.rl_episodes = (int)parse_int("HARL_RL_EPISODES", v, 0, 1000000);
         }},
        {"HARL_RL_ADAPT", "1",
         "1: adapt the RL policies online on this pipeline (actor-critic steps); 0: keep them fixed",
         [](HarlOptions &o, const std::string &v) { o.rl_adapt = parse_int("HARL_RL_ADAPT", v, 0, 1) != 0; }},
        {"HARL_POLICY", "(shipped)",
         "RL policy file from harl-train-policy; unset = the policy built into HARL",
         [](HarlOptions &o, const std::string &v) {
             if (v.empty()) throw HarlError("HARL_POLICY is empty: give a policy file, or unset it");
             o.policy = v;
         }},
        {"HARL_MEASURE", "0",
         "measurement budget: compile and time this many candidates for real (JIT, in a child process with "
         "a timeout) and return the fastest measured; 0 = cost model only",
         [](HarlOptions &o, const std::string &v) {
             o.measure = (int)parse_int("HARL_MEASURE", v, 0, 100000);
         }},
        {"HARL_MEASURE_BATCH", "4", "candidates measured per round of measured tuning",
         [](HarlOptions &o, const std::string &v) {
             o.measure_batch = (int)parse_int("HARL_MEASURE_BATCH", v, 1, 1024);
         }},
        {"HARL_MEASURE_TIMEOUT", "60",
         "seconds per measured candidate (compile + runs); a slower, crashing or hanging one is recorded as "
         "failed",
         [](HarlOptions &o, const std::string &v) {
             o.measure_timeout_s = parse_double("HARL_MEASURE_TIMEOUT", v, 1, 1e5);
         }},
        {"HARL_TUNER", "rl",
         "with HARL_MEASURE: rl (HARL's RL pass proposes candidates), random (random schedules) or dropout "
         "(dropout-greedy samples ranked by the cost model, as Adams2019 autotunes); for comparisons",
         [](HarlOptions &o, const std::string &v) {
             if (v != "rl" && v != "random" && v != "dropout")
                 throw HarlError("HARL_TUNER=" + v + ": use rl, random or dropout");
             o.tuner = v;
         }},
        {"HARL_SAMPLES", "(none)",
         "file every measured candidate (features, runtime) is appended to; `harl-collect --db DATASET "
         "--import FILE` adds them to a training dataset",
         [](HarlOptions &o, const std::string &v) {
             if (v.empty()) throw HarlError("HARL_SAMPLES is empty: give a file, or unset it");
             o.samples = v;
         }},
        {"HARL_TRACE", "(none)",
         "CSV file each measured candidate is appended to (strategy, pipeline, index, wall_s, runtime_s, "
         "best_s, predicted_s, status)",
         [](HarlOptions &o, const std::string &v) {
             if (v.empty()) throw HarlError("HARL_TRACE is empty: give a file, or unset it");
             o.trace = v;
         }},
        {"HARL_CHECK_LOWERING", "1",
         "CPU targets: lower the chosen schedule in a child process first (within HARL_MEASURE_TIMEOUT); "
         "if Halide 14 crashes on it, emit it without fused loops (0 = skip the check)",
         [](HarlOptions &o, const std::string &v) {
             o.check_lowering = parse_int("HARL_CHECK_LOWERING", v, 0, 1) != 0;
         }},
        {"HARL_PORTFOLIO", "1",
         "CPU targets with the learned model: also search with the analytic model and keep whichever "
         "complete schedule the learned model predicts faster (0 = the learned model's search only)",
         [](HarlOptions &o, const std::string &v) {
             o.portfolio = parse_int("HARL_PORTFOLIO", v, 0, 1) != 0;
         }},
    };
    return table;
}

} // namespace

HarlOptions HarlOptions::from_environment(std::vector<std::string> *unknown) {
    HarlOptions o;
    for (const auto &s : specs()) {
        if (const char *v = std::getenv(s.name)) s.parse(o, v);
    }
    if (unknown) {
        for (char **e = environ; e && *e; ++e) {
            std::string kv(*e);
            if (kv.rfind("HARL_", 0) != 0) continue;
            std::string name = kv.substr(0, kv.find('='));
            bool known = false;
            for (const auto &s : specs())
                known |= (name == s.name);
            if (!known) unknown->push_back(name);
        }
    }
    return o;
}

std::string options_help() {
    std::ostringstream os;
    for (const auto &s : specs()) {
        os << "  " << s.name;
        for (size_t i = std::string(s.name).size(); i < 22; i++)
            os << ' ';
        os << "default " << s.default_text << ": " << s.help << "\n";
    }
    return os.str();
}

} // namespace harl
