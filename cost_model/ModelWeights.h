// ModelWeights: the learned cost model's parameters and the file that stores them.
//
// File format (little-endian), version 5:
//   char[8]  magic "HARLWTS1"
//   u32      format version (kWeightsFormatVersion)
//   u32      feature layout version the model was trained with (FeatureLayout.h)
//   u32      inputs per stage (kModelInputs), u32 hidden1, u32 hidden2
//   f32      max_correction (version 2; version 1 files have none and mean 4)
//   f32      max_discount (version 3; older files have none and mean max_correction)
//   u32      members, f32 pessimism (version 4; older files hold one member, pessimism 0)
//   u32      outputs per stage, 1 or 3 (version 5; older files have 1)
//   u64      payload floats
//   u64      FNV-1a 64 checksum of the payload bytes
//   u32      metadata bytes, then the metadata text (how and where it was trained)
//   float[]  payload: input mean, input scale, W1 (hidden1 x inputs), b1, W2 (hidden2 x
//            hidden1), b2, W3 (outputs x hidden2), b3; with several members, each of W1..b3 holds
//            every member's tensor, member after member
// load_weights() checks every field and names the file and the problem (missing, truncated,
// corrupt, trained for another feature layout or shape) in the HarlError it throws.
#pragma once

#include "FeatureLayout.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace harl {

constexpr uint32_t kWeightsFormatVersion = 5;
// Per stage: every feature (signed log) plus the log of the analytic model's estimate. Weights
// of an older feature layout have num_features_of_layout(version) + 1.
constexpr int kModelInputs = kNumFeatures + 1;
// The network's log-correction of a stage's analytic estimate is squashed into
// +-max_correction (a property of each weights file; version 1 files used this one).
constexpr float kVersion1MaxCorrection = 4.0f;
// Normalised inputs are clamped to +-this many standard deviations of the training data, so
// stages far outside what the model saw (much larger layers) do not extrapolate wildly.
constexpr float kInputClamp = 5.0f;

struct ModelWeights {
    uint32_t layout_version = kFeatureLayoutVersion;
    int inputs = kModelInputs, hidden1 = 64, hidden2 = 64;
    // A stage's log-correction lies in [-max_discount, max_correction]: the network may call a
    // stage at most e^max_discount times faster than the analytic estimate, and at most
    // e^max_correction times slower. A search exploits errors that make schedules look fast, so
    // a smaller max_discount limits the damage of optimistic errors on schedules unlike the
    // training data, while penalties (what the analytic model misses) keep their full range.
    float max_correction = kVersion1MaxCorrection;
    float max_discount = kVersion1MaxCorrection;
    // An ensemble: `members` networks trained alike from different seeds. A stage's correction
    // is their mean plus `pessimism` times their standard deviation: where the members disagree
    // the model was not taught, and a positive pessimism makes such schedules look slower
    // instead of letting the search chase whichever member is most optimistic.
    int members = 1;
    float pessimism = 0;
    // What the network corrects: 1 output, the analytic estimate of the stage as a whole; 3
    // outputs (kTermOutputs, CPU only), each of its terms (AnalyticTerms in CostModel.h: compute,
    // memory, overhead) before they are combined, so that a stage the analytic model thinks
    // compute-bound can turn out memory-bound and the other way round.
    int outputs = 1;
    std::vector<float> mean, scale; // input normalisation: (x - mean) * scale
    std::vector<float> w1, b1, w2, b2, w3, b3;
    std::string metadata;

    size_t payload_floats() const;
    // Sizes every tensor for the shape (zeros; scale ones).
    void allocate();
    // Member k alone (members = 1, pessimism 0), sharing the input normalisation.
    ModelWeights member(int k) const;
    // One ensemble of single-member weights trained alike (same shape, bounds, normalisation).
    static ModelWeights ensemble(const std::vector<ModelWeights> &members, float pessimism);
};

// The ensemble's correction from its members' bounded corrections.
inline double combine_corrections(const double *c, int members, double pessimism) {
    double mean = 0;
    for (int k = 0; k < members; k++)
        mean += c[k];
    mean /= members;
    if (members < 2 || pessimism == 0) return mean;
    double var = 0;
    for (int k = 0; k < members; k++)
        var += (c[k] - mean) * (c[k] - mean);
    return mean + pessimism * std::sqrt(var / (members - 1));
}

ModelWeights load_weights(const std::string &path);
// One ensemble of every member of several weights files trained alike (the same feature
// layout, shape, bounds, pessimism and input normalisation: the same training data), members
// in order; `names` name the files in the HarlError thrown when they do not match. Two
// ensembles trained from different seeds become one of all their members.
ModelWeights merge_ensembles(const std::vector<ModelWeights> &ensembles,
                             const std::vector<std::string> &names);
// The same checks on bytes in memory; `source` names them in errors.
ModelWeights parse_weights(const std::string &bytes, const std::string &source);
// The weights built into HARL (cost_model/weights/, embedded at build time):
// harl_cpu_avx512.weights (trained on an AVX-512 Zen 4) for x86 targets with AVX-512,
// harl_cpu.weights (trained on an AVX2 machine) for every other CPU target;
// shipped_weights_for() picks the machine's.
ModelWeights shipped_weights();
ModelWeights shipped_avx512_weights();
struct MachineInfo;
ModelWeights shipped_weights_for(const MachineInfo &m);
void save_weights(const std::string &path, const ModelWeights &w);

// The bounded log-correction of a stage from the network's raw output: each side squashed by
// tanh into its own bound, slope 1 at 0 on both.
inline double bounded_correction(double raw, double max_correction, double max_discount) {
    const double bound = raw >= 0 ? max_correction : max_discount;
    return bound * std::tanh(raw / bound);
}

constexpr int kTermOutputs = 3;

// Model input of one stage: signed log of its first `features` features (the weights' layout
// has that many), then log of the analytic estimate: features + 1 floats.
void model_inputs(const StageFeatures &f, int features, double analytic_seconds, float *out);

} // namespace harl
