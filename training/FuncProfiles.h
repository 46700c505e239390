// FuncProfiles: attaches the per-Func profiles of a dataset (harl-profile --save, the
// func_profiles table of Dataset.h) to the training samples they describe, for harl-train
// --profile-weight (TrainConfig::profile_weight).
//
// A profile belongs to the sample of its pipeline whose featurization bytes it was taken with
// (FuncProfileRecord::features_hash): its stages are in that featurization's order. Samples of
// another feature layout, or of a featurizer that has changed since, get no profile. A profile
// of another machine than the sample's is used: shares of time between Funcs move less between
// machines than times do. The profiler's bookkeeping slows schedules of many small parallel
// tasks or many small realizations far more than others, so where a profile's total per run is
// more than kMaxProfileDistortion times its sample's runtime, relative to the median of its
// pipeline's profiled samples, the profile is dropped.
#pragma once

#include "Dataset.h"
#include "Trainer.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace harl {

constexpr double kMaxProfileDistortion = 1.5;

class FuncProfiles {
  public:
    void add(const std::vector<FuncProfileRecord> &profiles);
    // Fills s's profile members from the profile taken with these featurization bytes, if any;
    // returns whether it did.
    bool attach(const std::string &pipeline, const std::vector<uint8_t> &featurization,
                TrainingSample *s) const;
    size_t size() const { return by_sample_.size(); }

  private:
    std::map<std::pair<std::string, std::string>, FuncProfileRecord> by_sample_; // (pipeline, hash)
};

// Drops the distorted profiles (see above) of a pipeline's samples; returns how many.
int drop_distorted_profiles(TrainingPipeline *p);

} // namespace harl
