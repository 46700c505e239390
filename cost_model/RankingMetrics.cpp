#include "RankingMetrics.h"
#include "../autoscheduler/Errors.h"

#include <algorithm>
#include <cmath>

namespace harl {

RankingMetrics ranking_metrics(const std::vector<std::vector<double>> &predicted,
                               const std::vector<std::vector<double>> &measured) {
    HARL_ASSERT(predicted.size() == measured.size(), "one prediction list per pipeline");
    RankingMetrics r;
    long agree = 0, agree5 = 0, pairs5 = 0;
    double tau_sum = 0;
    int top1 = 0;
    for (size_t p = 0; p < predicted.size(); p++) {
        const auto &y = predicted[p], &t = measured[p];
        HARL_ASSERT(y.size() == t.size(), "pipeline " << p << ": " << y.size() << " predictions for "
                                                      << t.size() << " measurements");
        const size_t n = y.size();
        if (n < 2) continue;
        r.pipelines++;
        long concordant = 0, discordant = 0, ties_y = 0, ties_t = 0;
        for (size_t i = 0; i < n; i++) {
            for (size_t j = i + 1; j < n; j++) {
                double dy = y[j] - y[i], dt = t[j] - t[i];
                bool same = (dy > 0) == (dt > 0);
                if (dt == 0) ties_t++;
                if (dy == 0) ties_y++;
                if (dt != 0 && dy != 0) (same ? concordant : discordant)++;
                r.pairs++;
                agree += (dt == 0 || dy == 0) ? 0 : same;
                if (std::fabs(dt) > 0.05 * std::min(t[i], t[j])) {
                    pairs5++;
                    agree5 += dy != 0 && same;
                }
            }
        }
        long total = (long)(n * (n - 1) / 2);
        double denom = std::sqrt((double)(total - ties_y) * (double)(total - ties_t));
        tau_sum += denom > 0 ? (concordant - discordant) / denom : 0;
        size_t best_pred = (size_t)(std::min_element(y.begin(), y.end()) - y.begin());
        double best = *std::min_element(t.begin(), t.end());
        top1 += t[best_pred] <= 1.1 * best;
    }
    if (r.pipelines > 0) {
        r.pairwise_accuracy = r.pairs ? (double)agree / r.pairs : 0;
        r.pairwise_accuracy_5pct = pairs5 ? (double)agree5 / pairs5 : 0;
        r.mean_kendall_tau = tau_sum / r.pipelines;
        r.top1_within_10pct = (double)top1 / r.pipelines;
    }
    return r;
}

} // namespace harl
