// The HARL options of the schedules harl-collect measures for one random pipeline: candidate 0
// is HARL's own pick, the others randomised searches with their own seeds, randomisation and
// beam sizes. Candidate k searches with cost model `models[k % models.size()]` (analytic or
// learned; empty keeps the base options' model), so that the data also holds the schedules a
// learned model steers the search to: a model trained only on schedules another model picked
// never learns where its own favourites are wrong. Shared by the collector and the tests that
// replay what it measured.
#pragma once

#include "Options.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace harl {

inline HarlOptions candidate_options(const HarlOptions &base, uint64_t seed, int k, double search_budget_s,
                                     const std::vector<std::string> &models = {}) {
    HarlOptions o = base;
    o.time_budget_s = search_budget_s;
    o.verbose = 0;
    o.portfolio = false; // each candidate is its own model's search
    if (!models.empty()) o.cost_model = models[(size_t)k % models.size()];
    if (k < (int)std::max<size_t>(1, models.size())) return o; // each model's own pick
    std::mt19937_64 r(seed * 1000003ull + (uint64_t)k);
    o.seed = seed * 1000 + (uint64_t)k;
    o.randomize = 0.1 + 0.6 * std::uniform_real_distribution<double>(0, 1)(r);
    static const int beams[] = {1, 2, 4, 8};
    o.beam_size = beams[r() % 4];
    return o;
}

} // namespace harl
