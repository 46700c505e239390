// PolicyTrainer: pre-trains HARL's refinement policies (PolicyNet.h) with LibTorch by PPO, an
// actor-critic method: the rollouts come from the plain-C++ policies acting in the refinement
// environment (autoscheduler/refine/, cost model as the reward), this class takes the update
// steps and hands the weights back. No LibTorch types appear here.
//
// Loss over a batch of decisions: the clipped PPO surrogate -min(r A, clip(r, 1-e, 1+e) A), with
// r = pi_new(a) / pi_old(a) and advantages normalised over the batch, minus an entropy bonus,
// plus 0.5 x the critic's squared error on the observed returns. `epochs` passes over the batch.
#pragma once

#include "PolicyNet.h"

#include <memory>
#include <vector>

namespace harl {

struct PolicyLosses {
    double policy = 0, critic = 0, entropy = 0;
};

class PolicyTrainer {
  public:
    PolicyTrainer(const PolicyWeights &init, double learning_rate, uint64_t seed);
    ~PolicyTrainer();
    PolicyLosses update(const std::vector<PolicyDecision> &decisions, const std::vector<CriticSample> &critic,
                        int epochs = 4, double clip = 0.2, double entropy_weight = 0.01);
    PolicyWeights weights() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Scores of `rows` rows by one of the networks, computed with LibTorch (the agreement test).
std::vector<double> torch_policy_scores(const PolicyWeights &w, PolicyNetId net,
                                        const std::vector<float> &rows, int num_rows);

} // namespace harl
