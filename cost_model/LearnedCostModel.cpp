// LearnedCostModel: inference of the learned per-stage network (StageMlp.h) in plain C++,
// for the search. Same math as the LibTorch module (a test checks they agree), but without
// LibTorch's per-call overhead and BLAS dependence: stage rows go through three dense layers
// stored input-major, so the inner loops vectorise, a block of rows at a time, so that each
// weight row is read from memory once per block instead of once per row. On x86 the dense
// layer is compiled for AVX-512, AVX2 and the baseline, and the loader picks the widest the
// CPU has. Every clone adds the same products in the same order without fused multiply-adds
// (the file is built with -ffp-contract=off), so predictions, and hence schedules, do not
// depend on the machine the search runs on. Loaded into every generator that uses HARL, so it
// also keeps LibTorch out of the plugin.
#include "../autoscheduler/Errors.h"
#include "CostModel.h"

#include <algorithm>
#include <cmath>

namespace harl {
namespace {

class LearnedCostModel : public CostModel {
  public:
    LearnedCostModel(const MachineInfo &m, const ModelWeights &w)
        : machine_(m), analytic_(make_base_cost_model(m)), w_(w), in_(w.inputs), h1_(w.hidden1),
          h2_(w.hidden2), out_(w.outputs) {
        HARL_ASSERT(out_ == 1 || (out_ == kTermOutputs && !m.gpu),
                    "weights with " << out_ << " outputs per stage (term outputs are for CPU targets)");
        HARL_ASSERT(w.payload_floats() == w.mean.size() + w.scale.size() + w.w1.size() + w.b1.size() +
                                              w.w2.size() + w.b2.size() + w.w3.size() + w.b3.size(),
                    "weights tensors do not match their shape");
        for (int k = 0; k < w.members; k++) {
            const ModelWeights one = w.member(k);
            members_.push_back(
                {transpose(one.w1, h1_, in_), one.b1, transpose(one.w2, h2_, h1_), one.b2, one.w3, one.b3});
        }
    }
    std::string name() const override { return "learned"; }

    void predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) override {
        base_estimates(*analytic_, machine_, stages, seconds, out_ == 1 ? nullptr : &terms_);
        const size_t members = members_.size();
        x_.resize(kBlock * in_);
        a_.resize(kBlock * h1_);
        b_.resize(kBlock * h2_);
        c_.resize(kBlock * members * out_);
        for (size_t first = 0; first < stages.size(); first += kBlock) {
            const int rows = (int)std::min(kBlock, stages.size() - first);
            for (int r = 0; r < rows; r++) {
                float *x = x_.data() + (size_t)r * in_;
                model_inputs(stages[first + r], in_ - 1, (*seconds)[first + r], x);
                for (int i = 0; i < in_; i++)
                    x[i] = std::clamp((x[i] - w_.mean[i]) * w_.scale[i], -kInputClamp, kInputClamp);
            }
            for (size_t k = 0; k < members; k++) {
                const Member &m = members_[k];
                dense_relu(x_.data(), rows, in_, m.w1t.data(), m.b1.data(), h1_, a_.data());
                dense_relu(a_.data(), rows, h1_, m.w2t.data(), m.b2.data(), h2_, b_.data());
                for (int r = 0; r < rows; r++) {
                    for (int o = 0; o < out_; o++) {
                        double d = m.b3[o];
                        for (int j = 0; j < h2_; j++)
                            d += (double)m.w3[(size_t)o * h2_ + j] * b_[(size_t)r * h2_ + j];
                        c_[((size_t)r * out_ + o) * members + k] =
                            bounded_correction(d, w_.max_correction, w_.max_discount);
                    }
                }
            }
            double term[kTermOutputs];
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out_; o++)
                    term[o] = combine_corrections(c_.data() + ((size_t)r * out_ + o) * members, (int)members,
                                                  w_.pessimism);
                if (out_ == 1) {
                    (*seconds)[first + r] *= std::exp(term[0]);
                } else {
                    (*seconds)[first + r] = terms_[first + r].corrected(term);
                }
            }
        }
    }

  private:
    // One network of the ensemble, its dense layers stored input-major (wt[i * n + j]).
    struct Member {
        std::vector<float> w1t, b1, w2t, b2, w3, b3; // w3: outputs x hidden2
    };
    static std::vector<float> transpose(const std::vector<float> &w, int rows, int cols) {
        std::vector<float> t(w.size());
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[(size_t)c * rows + r] = w[(size_t)r * cols + c];
        return t;
    }
    // Stage rows per pass over the weights: a block's inputs and outputs stay in L1 while
    // each weight row is used for all of them.
    static constexpr size_t kBlock = 16;

    // out[r] = relu(W x[r] + b) for `rows` rows (x: rows x in, out: rows x n, both row-major),
    // with W stored input-major (wt[i * n + j]). Each output sums its products in order of i.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
    static void
    dense_relu(const float *x, int rows, int in, const float *wt, const float *bias, int n, float *out) {
        for (int r = 0; r < rows; r++)
            std::copy(bias, bias + n, out + (size_t)r * n);
        for (int i = 0; i < in; i++) {
            const float *row = wt + (size_t)i * n;
            for (int r = 0; r < rows; r++) {
                const float xi = x[(size_t)r * in + i];
                float *o = out + (size_t)r * n;
                for (int j = 0; j < n; j++)
                    o[j] += row[j] * xi;
            }
        }
        for (int j = 0; j < rows * n; j++)
            out[j] = std::max(out[j], 0.0f);
    }

    MachineInfo machine_;
    std::unique_ptr<CostModel> analytic_;
    ModelWeights w_;
    int in_, h1_, h2_, out_;
    std::vector<Member> members_;
    std::vector<float> x_, a_, b_;     // one block's inputs and hidden activations
    std::vector<double> c_;            // one block's corrections, rows x outputs x members
    std::vector<AnalyticTerms> terms_; // per stage, for weights with term outputs
};

} // namespace

std::unique_ptr<CostModel> make_learned_cost_model(const MachineInfo &m, const ModelWeights &w) {
    return std::make_unique<LearnedCostModel>(m, w);
}

} // namespace harl
