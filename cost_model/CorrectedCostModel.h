// CorrectedCostModel: a cost model fine-tuned online on measured schedules of the one pipeline
// being scheduled (HARL_MEASURE). It wraps any base model (analytic or learned): each stage's
// prediction is multiplied by exp(w . z), where z are the stage's schedule features (signed
// log, standardised over the measured stages, clamped to +-3). add_measurement() stores a
// schedule's stages and its measured seconds; fit() refits w (ridge-regularised least squares
// on log runtime, with a free offset, by gradient descent: deterministic). With no measurements
// it predicts exactly what the base model does.
#pragma once

#include "CostModel.h"

#include <memory>
#include <vector>

namespace harl {

class CorrectedCostModel : public CostModel {
  public:
    explicit CorrectedCostModel(CostModel &base, double ridge = 1.0);
    std::string name() const override { return base_.name() + "+measured"; }
    void predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) override;
    void add_measurement(const std::vector<StageFeatures> &stages, double seconds);
    void fit();
    int measurements() const { return (int)samples_.size(); }

  private:
    static constexpr int kDims = kNumFeatures - kNumPipelineFeatures;
    void standardise(const StageFeatures &f, double *z) const;
    struct Sample {
        std::vector<StageFeatures> stages;
        std::vector<double> base; // base model seconds per stage
        double seconds;
    };
    CostModel &base_;
    double ridge_;
    std::vector<Sample> samples_;
    std::vector<double> w_, mean_, inv_std_;
    double offset_ = 0; // log scale: the base model's bias on this machine
};

} // namespace harl
