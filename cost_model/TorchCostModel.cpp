// TorchCostModel: the learned model's inference with LibTorch (StageMlp.h), one batched
// forward pass per predict() call. harl-train evaluates with it; the search uses the plain C++
// LearnedCostModel, which a test checks against this one.
#include "TorchCostModel.h"
#include "../autoscheduler/Errors.h"
#include "StageMlp.h"

#include <cmath>

namespace harl {
namespace {

class TorchCostModel : public CostModel {
  public:
    TorchCostModel(const MachineInfo &m, const ModelWeights &w)
        : machine_(m), analytic_(make_base_cost_model(m)), pessimism_(w.pessimism),
          inputs_per_stage_(w.inputs), outputs_(w.outputs) {
        HARL_ASSERT(outputs_ == 1 || !m.gpu, "weights with term outputs are for CPU targets");
        for (int k = 0; k < w.members; k++) {
            StageMlp mlp(w.inputs, w.hidden1, w.hidden2, w.max_correction, w.max_discount, w.outputs);
            mlp->load(w.member(k));
            mlp->eval();
            members_.push_back(mlp);
        }
    }
    std::string name() const override { return "learned"; }

    void predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) override {
        base_estimates(*analytic_, machine_, stages, seconds, outputs_ == 1 ? nullptr : &terms_);
        const long n = (long)stages.size();
        if (n == 0) return;
        inputs_.resize((size_t)n * inputs_per_stage_);
        for (long i = 0; i < n; i++)
            model_inputs(stages[i], inputs_per_stage_ - 1, (*seconds)[i],
                         &inputs_[(size_t)i * inputs_per_stage_]);
        c10::InferenceMode guard;
        torch::Tensor x = torch::from_blob(inputs_.data(), {n, (long)inputs_per_stage_}, torch::kFloat32);
        std::vector<torch::Tensor> d;
        for (auto &mlp : members_)
            d.push_back(mlp->forward(x).to(torch::kFloat64).contiguous());
        std::vector<double> c(members_.size());
        double term[kTermOutputs];
        for (long i = 0; i < n; i++) {
            for (int o = 0; o < outputs_; o++) {
                for (size_t k = 0; k < d.size(); k++)
                    c[k] = d[k].data_ptr<double>()[i * outputs_ + o];
                term[o] = combine_corrections(c.data(), (int)c.size(), pessimism_);
            }
            if (outputs_ == 1) {
                (*seconds)[i] *= std::exp(term[0]);
            } else {
                (*seconds)[i] = terms_[(size_t)i].corrected(term);
            }
        }
    }

  private:
    MachineInfo machine_;
    std::unique_ptr<CostModel> analytic_;
    double pessimism_;
    int inputs_per_stage_, outputs_;
    std::vector<StageMlp> members_;
    std::vector<float> inputs_;
    std::vector<AnalyticTerms> terms_; // per stage, for weights with term outputs
};

} // namespace

std::unique_ptr<CostModel> make_torch_cost_model(const MachineInfo &m, const ModelWeights &w) {
    return std::make_unique<TorchCostModel>(m, w);
}

} // namespace harl
