// RankingMetrics: how well predicted runtimes order the schedules of each pipeline.
//   pairwise_accuracy: fraction of pairs of schedules of one pipeline (pooled over pipelines)
//       whose predicted order matches the measured order; pairs measured within 5% of each
//       other are left out of pairwise_accuracy_5pct (they are within measurement noise).
//   mean_kendall_tau: Kendall's tau-b between predicted and measured times, per pipeline, mean.
//   top1_within_10pct: fraction of pipelines whose predicted-best schedule measures within 10%
//       of the measured best.
#pragma once

#include <vector>

namespace harl {

struct RankingMetrics {
    double pairwise_accuracy = 0, pairwise_accuracy_5pct = 0, mean_kendall_tau = 0, top1_within_10pct = 0;
    int pipelines = 0;
    long pairs = 0;
};

// predicted[p][i], measured[p][i]: schedule i of pipeline p. Pipelines with fewer than two
// schedules are skipped.
RankingMetrics ranking_metrics(const std::vector<std::vector<double>> &predicted,
                               const std::vector<std::vector<double>> &measured);

} // namespace harl
