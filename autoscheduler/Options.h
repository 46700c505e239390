// HarlOptions: every tunable of the HARL autoscheduler, in one typed struct read once from
// HARL_* environment variables. The table in options_help() is the single source of truth for
// names, defaults and documentation (README and `--help` print it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace harl {

struct HarlOptions {
    int beam_size = 8;           // HARL_BEAM_SIZE: states kept per decision step (1 = greedy)
    uint64_t seed = 0;           // HARL_SEED: seeds candidate sampling and randomised decisions
    double time_budget_s = 10.0; // HARL_TIME_BUDGET: wall-clock seconds for the whole search
    int max_candidates = 48;     // HARL_MAX_CANDIDATES: loop-nest candidates tried per Func and placement
    double randomize = 0.0;      // HARL_RANDOMIZE: probability of taking a random candidate (data collection)
    int verbose = 0;             // HARL_VERBOSE: 0 quiet .. 4 every candidate (stderr)
    std::string cost_model = "auto"; // HARL_COST_MODEL: auto | learned | analytic
    std::string weights;             // HARL_WEIGHTS: weights file for the learned model ("" = shipped)
    std::string gpu_init = "valid";  // HARL_GPU_INIT: valid | naive kernel-shape proposals (GPU targets)
    double dropout = 0.0; // HARL_DROPOUT: probability of dropping each candidate (autotuning baseline)
    // RL refinement (autoscheduler/refine/RlRefiner.h) and measured tuning (MeasuredTuner.h).
    double rl_budget_s = 0.0; // HARL_RL_BUDGET: seconds for the model-reward RL pass (0 = off, the default)
    int rl_patience = 8;      // HARL_RL_PATIENCE: episodes without improvement before it stops
    int rl_episodes = 40;     // HARL_RL_EPISODES: most episodes
    bool rl_adapt = true;     // HARL_RL_ADAPT: adapt the policies online (0/1)
    std::string policy;       // HARL_POLICY: policy file ("" = shipped)
    int measure = 0;          // HARL_MEASURE: candidates to compile and time (0 = model only)
    int measure_batch = 4;    // HARL_MEASURE_BATCH: candidates measured per round
    double measure_timeout_s = 60; // HARL_MEASURE_TIMEOUT: seconds per candidate (compile + runs)
    std::string tuner = "rl";      // HARL_TUNER: rl | random | dropout (with HARL_MEASURE)
    std::string trace;             // HARL_TRACE: CSV file the measurements are appended to
    std::string samples;        // HARL_SAMPLES: file measured samples are appended to (harl-collect --import)
    bool check_lowering = true; // HARL_CHECK_LOWERING: lower the schedule in a child first (0/1)
    bool portfolio = true; // HARL_PORTFOLIO: with the learned model, also search with the analytic one (0/1)

    // Reads HARL_* variables from the environment. Malformed values throw HarlError naming the
    // variable; unknown HARL_* variables are returned in `unknown` (the caller reports them).
    static HarlOptions from_environment(std::vector<std::string> *unknown = nullptr);
};

// Human-readable table of every option: NAME, default, meaning.
std::string options_help();

} // namespace harl
