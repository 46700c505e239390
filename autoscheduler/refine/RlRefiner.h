// RlRefiner: HARL's hierarchical, adaptive RL refinement of a complete schedule.
//
// An episode starts from the best schedule so far and takes up to `episode_length` edits. Each
// edit is three sampled decisions (PolicyNet.h): which stage (over PolicyFeatures' stage rows,
// which see the stage's share of the predicted runtime and its neighbours), which kind of
// change (placement, tiling, vector/unroll, parallelism; only kinds with legal edits), and
// which edit of that kind (its rows include the cost model's prediction for it). The reward of
// an edit is log(cost before / cost after). After each episode the policies take an
// actor-critic step on its decisions (online adaptation, `adapt`).
//
// Adaptive exploration: an episode that improves the best schedule lowers the temperature
// (x0.7, down to 0.1) and shortens episodes (exploit near the new best); an episode that does
// not raises the temperature (x1.5, up to 4) and lengthens episodes (explore further). The
// pass stops after `patience` episodes in a row without improvement, or at `budget_s`.
// Deterministic for a seed when it stops by patience or `max_episodes` (the wall-clock budget
// is a safety net).
#pragma once

#include "../../cost_model/PolicyNet.h"
#include "EditSpace.h"
#include "PolicyFeatures.h"

#include <random>
#include <vector>

namespace harl {

struct RefineOptions {
    double budget_s = 2;
    int patience = 8;
    int max_episodes = 40; // with patience, the stopping rule that keeps the pass deterministic
    int initial_episode = 4, max_episode = 16;
    double initial_temperature = 1.0;
    bool adapt = true;   // policy-gradient steps during the pass
    double lr = 3e-3;    // of those steps
    int max_values = 12; // edits of the chosen kind scored per decision
    uint64_t seed = 0;
    int verbose = 0;
};

struct Episode {
    std::vector<PolicyDecision> decisions; // 3 per step
    std::vector<CriticSample> critic;      // 1 per step
    std::vector<double> rewards;           // 1 per step
    std::vector<int> step_of_decision;
    std::vector<std::pair<ScheduleState, double>> visited; // every schedule reached, predicted cost
    ScheduleState best;
    double best_cost = 0;
};

struct RefineResult {
    ScheduleState best;
    double start_cost = 0, best_cost = 0;
    int episodes = 0, steps = 0;
    double seconds = 0;
    bool stalled = false; // stopped by patience (else by budget)
};

class RlRefiner {
  public:
    RlRefiner(EditSpace &space, PolicyWeights &policy, const RefineOptions &opts);
    // One episode of `length` edits from `start` at `temperature`.
    Episode run_episode(const ScheduleState &start, double start_cost, int length, double temperature);
    // Fills advantages (discounted return minus the critic) and critic targets. `terminal`
    // is added to the last step's reward (a measured outcome).
    void finish(Episode &ep, double terminal = 0) const;
    // Online actor-critic step on a finished episode.
    void learn(const Episode &ep);
    // The whole adaptive pass with model rewards; the result is `start` unless something
    // predicted faster was found.
    RefineResult refine(const ScheduleState &start);

    // Adaptive exploration state (the measured tuner drives it too).
    struct Schedule {
        double temperature;
        int length;
        int stall = 0;
    };
    Schedule initial_schedule() const { return {opts_.initial_temperature, opts_.initial_episode, 0}; }
    void adapt_schedule(Schedule &s, bool improved) const;

  private:
    int sample(const std::vector<double> &p);
    EditSpace &space_;
    PolicyWeights &policy_;
    RefineOptions opts_;
    std::mt19937_64 rng_;
    std::vector<EditHistory> history_;
};

} // namespace harl
