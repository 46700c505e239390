#include "GpuBeamSearch.h"
#include "../Errors.h"
#include "GpuFeaturizer.h"
#include "GpuValidity.h"

#include <algorithm>
#include <chrono>
#include <iostream>

namespace harl {

double gpu_schedule_cost(const GpuSchedule &s, CostModel &model) {
    std::vector<StageFeatures> fs = gpu_featurize_all(s, nullptr, nullptr);
    std::vector<double> secs;
    model.predict(fs, &secs);
    HARL_ASSERT(secs.size() == fs.size(),
                model.name() << " returned " << secs.size() << " costs for " << fs.size() << " stages");
    double total = 0;
    for (double x : secs)
        total += x;
    return total;
}

GpuSearchResult gpu_beam_search(const PipelineGraph &g, const TargetModel &tm, const HarlOptions &opts,
                                CostModel &model) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    std::mt19937_64 rng(opts.seed * 0x9E3779B97F4A7C15ull + 7);
    std::uniform_real_distribution<double> coin(0, 1);
    const GpuInit init = opts.gpu_init == "naive" ? GpuInit::Naive : GpuInit::Valid;
    struct Entry {
        GpuSchedule state;
        double cost;
    };
    GpuSearchResult res{GpuSchedule(g, tm), 0.0, 0, 0.0, false, {}};
    std::vector<Entry> beam{{GpuSchedule(g, tm), 0.0}};
    while (!beam[0].state.complete()) {
        double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        bool hurry = elapsed > 0.75 * opts.time_budget_s;
        res.budget_exhausted = res.budget_exhausted || hurry;
        const size_t keep = hurry ? 1 : (size_t)std::max(1, opts.beam_size);
        if (hurry && beam.size() > 1) beam.erase(beam.begin() + 1, beam.end());
        std::vector<Entry> children;
        for (const Entry &e : beam) {
            int node = e.state.next_node();
            auto cands =
                gpu_candidates(e.state, node, init, hurry ? 8 : opts.max_candidates, rng, &res.stats);
            HARL_ASSERT(!cands.empty(), "no GPU candidate for " << g.node(node).name);
            if (opts.randomize > 0 && coin(rng) < opts.randomize) {
                auto pick = cands[std::uniform_int_distribution<size_t>(0, cands.size() - 1)(rng)];
                cands = {pick};
            }
            for (auto &c : cands) {
                GpuSchedule child = e.state.with(node, c);
                double cost = gpu_schedule_cost(child, model);
                res.states_evaluated++;
                if (opts.verbose >= 4) std::cerr << "HARL GPU: " << cost * 1e3 << " ms\n" << child.describe();
                children.push_back({std::move(child), cost});
            }
        }
        std::stable_sort(children.begin(), children.end(),
                         [](const Entry &a, const Entry &b) { return a.cost < b.cost; });
        if (children.size() > keep) children.erase(children.begin() + keep, children.end());
        beam = std::move(children);
    }
    res.best = beam[0].state;
    res.cost = beam[0].cost;
    std::string bad = schedule_violations(res.best);
    HARL_ASSERT(bad.empty(), "GPU search returned a schedule that cannot launch:\n" << bad);
    res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return res;
}

} // namespace harl
