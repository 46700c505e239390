#include "CorrectedCostModel.h"
#include "../autoscheduler/Errors.h"

#include <algorithm>
#include <cmath>

namespace harl {
namespace {

double slog(double x) {
    return x >= 0 ? std::log1p(x) : -std::log1p(-x);
}

} // namespace

CorrectedCostModel::CorrectedCostModel(CostModel &base, double ridge) : base_(base), ridge_(ridge) {}

void CorrectedCostModel::standardise(const StageFeatures &f, double *z) const {
    for (int d = 0; d < kDims; d++)
        z[d] = std::clamp((slog(f[kNumPipelineFeatures + d]) - mean_[d]) * inv_std_[d], -3.0, 3.0);
}

void CorrectedCostModel::predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) {
    base_.predict(stages, seconds);
    if (w_.empty()) return;
    double z[kDims];
    for (size_t r = 0; r < stages.size(); r++) {
        standardise(stages[r], z);
        double a = 0;
        for (int d = 0; d < kDims; d++)
            a += w_[d] * z[d];
        (*seconds)[r] *= std::exp(std::clamp(a, -5.0, 5.0) + offset_);
    }
}

void CorrectedCostModel::add_measurement(const std::vector<StageFeatures> &stages, double seconds) {
    HARL_ASSERT(seconds > 0 && !stages.empty(), "measurement without stages or time");
    Sample s{stages, {}, seconds};
    base_.predict(stages, &s.base);
    samples_.push_back(std::move(s));
}

void CorrectedCostModel::fit() {
    if (samples_.size() < 3) return; // nothing to learn a correction from yet
    // Standardisation over every measured stage.
    mean_.assign(kDims, 0.0);
    std::vector<double> sq(kDims, 0.0);
    size_t rows = 0;
    for (const Sample &s : samples_) {
        for (const StageFeatures &f : s.stages) {
            for (int d = 0; d < kDims; d++) {
                double v = slog(f[kNumPipelineFeatures + d]);
                mean_[d] += v;
                sq[d] += v * v;
            }
            rows++;
        }
    }
    inv_std_.assign(kDims, 0.0);
    for (int d = 0; d < kDims; d++) {
        mean_[d] /= (double)rows;
        double var = sq[d] / (double)rows - mean_[d] * mean_[d];
        inv_std_[d] = var > 1e-8 ? 1.0 / std::sqrt(var) : 0.0; // constant features carry nothing
    }
    std::vector<std::vector<std::vector<double>>> z(samples_.size());
    for (size_t j = 0; j < samples_.size(); j++) {
        for (const StageFeatures &f : samples_[j].stages) {
            z[j].emplace_back(kDims);
            standardise(f, z[j].back().data());
        }
    }
    // Gradient descent on mean squared log error (with a free offset) + ridge.
    std::vector<double> w(kDims, 0.0), g(kDims);
    double offset = 0;
    const double n = (double)samples_.size();
    for (int it = 0; it < 400; it++) {
        std::fill(g.begin(), g.end(), 0.0);
        double goff = 0;
        for (size_t j = 0; j < samples_.size(); j++) {
            const Sample &s = samples_[j];
            std::vector<double> q(s.stages.size());
            double total = 0;
            for (size_t r = 0; r < s.stages.size(); r++) {
                double a = 0;
                for (int d = 0; d < kDims; d++)
                    a += w[d] * z[j][r][d];
                q[r] = s.base[r] * std::exp(std::clamp(a, -5.0, 5.0));
                total += q[r];
            }
            const double e = std::log(std::max(total, 1e-15)) + offset - std::log(s.seconds);
            goff += 2 * e / n;
            for (size_t r = 0; r < s.stages.size(); r++) {
                const double share = q[r] / std::max(total, 1e-15);
                for (int d = 0; d < kDims; d++)
                    g[d] += 2 * e * share * z[j][r][d] / n;
            }
        }
        for (int d = 0; d < kDims; d++)
            w[d] -= 0.05 * (g[d] + 2 * ridge_ / n * w[d]);
        offset -= 0.2 * goff;
    }
    w_ = w;
    offset_ = offset;
}

} // namespace harl
