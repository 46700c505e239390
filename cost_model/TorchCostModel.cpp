// TorchCostModel: the learned model's inference with LibTorch (StageMlp.h), one batched
// forward pass per predict() call. harl-train evaluates with it; the search uses the plain C++
// LearnedCostModel, which a test checks against this one.
#include "TorchCostModel.h"
#include "StageMlp.h"

#include <cmath>

namespace harl {
namespace {

class TorchCostModel : public CostModel {
  public:
    TorchCostModel(const MachineInfo &m, const ModelWeights &w)
        : analytic_(make_base_cost_model(m)),
          mlp_(w.inputs, w.hidden1, w.hidden2, w.max_correction, w.max_discount) {
        mlp_->load(w);
        mlp_->eval();
    }
    std::string name() const override { return "learned"; }

    void predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) override {
        analytic_->predict(stages, seconds);
        const long n = (long)stages.size();
        if (n == 0) return;
        inputs_.resize((size_t)n * kModelInputs);
        for (long i = 0; i < n; i++)
            model_inputs(stages[i], (*seconds)[i], &inputs_[(size_t)i * kModelInputs]);
        c10::InferenceMode guard;
        torch::Tensor x = torch::from_blob(inputs_.data(), {n, (long)kModelInputs}, torch::kFloat32);
        torch::Tensor d = mlp_->forward(x).contiguous();
        const float *dp = d.data_ptr<float>();
        for (long i = 0; i < n; i++)
            (*seconds)[i] *= std::exp((double)dp[i]);
    }

  private:
    std::unique_ptr<CostModel> analytic_;
    StageMlp mlp_;
    std::vector<float> inputs_;
};

} // namespace

std::unique_ptr<CostModel> make_torch_cost_model(const MachineInfo &m, const ModelWeights &w) {
    return std::make_unique<TorchCostModel>(m, w);
}

} // namespace harl
