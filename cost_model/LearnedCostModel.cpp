// LearnedCostModel: inference of the learned per-stage network (StageMlp.h) in plain C++,
// for the search. Same math as the LibTorch module (a test checks they agree), but without
// LibTorch's per-call overhead and BLAS dependence: a batch of stage rows goes through three
// dense layers stored input-major, so the inner loops vectorise. Loaded into every generator
// that uses HARL, so it also keeps LibTorch out of the plugin.
#include "../autoscheduler/Errors.h"
#include "CostModel.h"

#include <algorithm>
#include <cmath>

namespace harl {
namespace {

class LearnedCostModel : public CostModel {
  public:
    LearnedCostModel(const MachineInfo &m, const ModelWeights &w)
        : analytic_(make_base_cost_model(m)), w_(w), in_(w.inputs), h1_(w.hidden1), h2_(w.hidden2) {
        HARL_ASSERT(w.payload_floats() == w.mean.size() + w.scale.size() + w.w1.size() + w.b1.size() +
                                              w.w2.size() + w.b2.size() + w.w3.size() + w.b3.size(),
                    "weights tensors do not match their shape");
        for (int k = 0; k < w.members; k++) {
            const ModelWeights one = w.member(k);
            members_.push_back({transpose(one.w1, h1_, in_), one.b1, transpose(one.w2, h2_, h1_), one.b2,
                                one.w3, one.b3[0]});
        }
    }
    std::string name() const override { return "learned"; }

    void predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) override {
        analytic_->predict(stages, seconds);
        std::vector<float> x(in_), a(h1_), b(h2_);
        std::vector<double> c(members_.size());
        for (size_t r = 0; r < stages.size(); r++) {
            model_inputs(stages[r], in_ - 1, (*seconds)[r], x.data());
            for (int i = 0; i < in_; i++)
                x[i] = std::clamp((x[i] - w_.mean[i]) * w_.scale[i], -kInputClamp, kInputClamp);
            for (size_t k = 0; k < members_.size(); k++) {
                const Member &m = members_[k];
                layer(x.data(), in_, m.w1t.data(), m.b1.data(), h1_, a.data());
                layer(a.data(), h1_, m.w2t.data(), m.b2.data(), h2_, b.data());
                double d = m.b3;
                for (int j = 0; j < h2_; j++)
                    d += (double)m.w3[j] * b[j];
                c[k] = bounded_correction(d, w_.max_correction, w_.max_discount);
            }
            (*seconds)[r] *= std::exp(combine_corrections(c.data(), (int)c.size(), w_.pessimism));
        }
    }

  private:
    // One network of the ensemble, its dense layers stored input-major (wt[i * n + j]).
    struct Member {
        std::vector<float> w1t, b1, w2t, b2, w3;
        float b3;
    };
    static std::vector<float> transpose(const std::vector<float> &w, int rows, int cols) {
        std::vector<float> t(w.size());
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[(size_t)c * rows + r] = w[(size_t)r * cols + c];
        return t;
    }
    // out = relu(W x + b) with W stored input-major (wt[i * n + j]).
    static void layer(const float *x, int in, const float *wt, const float *bias, int n, float *out) {
        std::copy(bias, bias + n, out);
        for (int i = 0; i < in; i++) {
            const float xi = x[i];
            const float *row = wt + (size_t)i * n;
            for (int j = 0; j < n; j++)
                out[j] += row[j] * xi;
        }
        for (int j = 0; j < n; j++)
            out[j] = std::max(out[j], 0.0f);
    }

    std::unique_ptr<CostModel> analytic_;
    ModelWeights w_;
    int in_, h1_, h2_;
    std::vector<Member> members_;
};

} // namespace

std::unique_ptr<CostModel> make_learned_cost_model(const MachineInfo &m, const ModelWeights &w) {
    return std::make_unique<LearnedCostModel>(m, w);
}

} // namespace harl
