// PolicyNet: the networks of HARL's hierarchical RL refinement (autoscheduler/refine/) and the
// file that stores them, in plain C++ so the plugin can run *and adapt* them without LibTorch.
// harl-train-policy pre-trains the same networks with LibTorch (PolicyTrainer.h); a test checks
// the two agree.
//
// Four small MLPs (inputs -> hidden tanh -> 1 output), each scoring one row of features:
//   stage  - one row per stage of the pipeline: which stage to change;
//   kind   - one row per kind of change available on that stage;
//   value  - one row per concrete edit of that kind: which value;
//   critic - one row per state: expected return (the actor-critic baseline).
// A decision samples softmax(score / temperature) over its rows.
//
// Policy file (little-endian): char[8] "HARLPOL1", u32 format version, u32 policy feature
// layout version (kPolicyLayoutVersion), per net u32 inputs and u32 hidden, u64 payload
// floats, u64 FNV-1a checksum of the payload, u32 metadata bytes + text, float payload (per
// net: W1 (hidden x inputs), b1, w2 (hidden), b2). load_policy() checks every field and names
// the file and the problem.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace harl {

constexpr uint32_t kPolicyFormatVersion = 1;
// Bump when the meaning of a policy feature changes (autoscheduler/refine/PolicyFeatures.cpp).
constexpr uint32_t kPolicyLayoutVersion = 1;
constexpr int kStageInputs = 18, kKindInputs = 25, kValueInputs = 14, kCriticInputs = 37;
constexpr int kPolicyHidden = 16;

enum PolicyNetId { StageNet, KindNet, ValueNet, CriticNet, NumPolicyNets };
const char *policy_net_name(int id);

// One MLP: out = b2 + w2 . tanh(W1 x + b1). Gradients accumulate until step().
class Mlp {
  public:
    Mlp() = default;
    Mlp(int inputs, int hidden, uint64_t seed);
    int inputs() const { return in_; }
    int hidden() const { return h_; }
    // Scores of `rows` rows of `inputs` floats.
    std::vector<double> forward(const std::vector<float> &x, int rows) const;
    // Adds d(loss)/d(params) for upstream gradients `dout` (one per row).
    void backward(const std::vector<float> &x, int rows, const std::vector<double> &dout);
    // One Adam step over the accumulated gradients (then clears them). Gradients are clipped
    // to a global norm of `clip`.
    void step(double lr, double clip = 1.0);
    std::vector<float> &params() { return p_; }
    const std::vector<float> &params() const { return p_; }
    size_t num_params() const { return p_.size(); }

  private:
    int in_ = 0, h_ = 0;
    std::vector<float> p_; // W1, b1, w2, b2
    std::vector<double> g_, m_, v_;
    int t_ = 0;
};

struct PolicyWeights {
    std::array<Mlp, NumPolicyNets> nets;
    std::string metadata;
    // Fresh networks with small random weights (deterministic for a seed).
    static PolicyWeights initial(uint64_t seed);
};

PolicyWeights load_policy(const std::string &path);
PolicyWeights parse_policy(const std::string &bytes, const std::string &source);
void save_policy(const std::string &path, const PolicyWeights &w);
// The policy built into HARL (cost_model/weights/harl_policy.weights, embedded at build time).
PolicyWeights shipped_policy();

// Softmax of scores / temperature.
std::vector<double> softmax(const std::vector<double> &scores, double temperature);

} // namespace harl

namespace harl {

// What training needs of one sampled decision: the rows the network scored, the one taken,
// the temperature it was sampled at and its advantage (return minus the critic's estimate).
struct PolicyDecision {
    PolicyNetId net = StageNet;
    std::vector<float> rows; // rows x the net's inputs
    int num_rows = 0;
    int chosen = 0;
    double temperature = 1;
    double advantage = 0;
};

struct CriticSample {
    std::vector<float> row; // kCriticInputs
    double target = 0;      // observed return
};

// One policy-gradient (actor-critic) step in plain C++: the online adaptation inside HARL.
// Minimises -advantage * log pi(chosen) - entropy_weight * H(pi) + 0.5 (V - return)^2.
void policy_gradient_step(PolicyWeights &w, const std::vector<PolicyDecision> &decisions,
                          const std::vector<CriticSample> &critic, double lr, double entropy_weight = 0.01);

} // namespace harl
