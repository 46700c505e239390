#include "BeamSearch.h"
#include "Errors.h"
#include "Featurizer.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>
#include <random>

namespace harl {

void StageBatch::add(const ScheduleState &s, const std::vector<int> &nodes, int owner,
                     std::vector<double> *node_cost) {
    Featurizer fz(s, m_);
    for (int n : nodes) {
        (*node_cost)[n] = 0;
        for (const auto &f : fz.node_features(n)) {
            rows_.push_back(f);
            owners_.emplace_back(owner, n);
        }
    }
}

void StageBatch::predict(CostModel &model,
                         const std::function<void(int owner, int node, double seconds)> &add) {
    std::vector<double> secs;
    model.predict(rows_, &secs);
    HARL_ASSERT(secs.size() == rows_.size(), model.name() << " model returned " << secs.size()
                                                          << " costs for " << rows_.size() << " stages");
    for (size_t i = 0; i < secs.size(); i++)
        add(owners_[i].first, owners_[i].second, secs[i]);
    rows_.clear();
    owners_.clear();
}

void cost_nodes(const ScheduleState &s, const std::vector<int> &nodes, const MachineInfo &m, CostModel &model,
                std::vector<double> *node_cost) {
    StageBatch batch(m);
    batch.add(s, nodes, 0, node_cost);
    batch.predict(model, [&](int, int n, double secs) { (*node_cost)[n] += secs; });
}

namespace {

struct BeamEntry {
    ScheduleState state;
    std::vector<double> node_cost;
    double total = 0;
};

// Keeps the `keep` cheapest children, but first the cheapest of each distinct placement of the
// Func just decided (inline, root, each compute_at loop): structure decided now constrains what
// its producers can do later, which the cost of the partial schedule cannot see yet.
std::vector<BeamEntry> select_diverse(std::vector<BeamEntry> sorted, int node, size_t keep) {
    if (sorted.size() <= keep) return sorted;
    auto signature = [&](const BeamEntry &e) {
        const FuncChoice &c = e.state.choice(node);
        return std::to_string((int)c.placement) + ":" + std::to_string(c.at_node) + ":" +
               std::to_string(c.at_loop) + ":" + std::to_string(c.store_loop);
    };
    std::vector<bool> taken(sorted.size(), false);
    std::vector<std::string> seen;
    std::vector<size_t> picks;
    for (size_t i = 0; i < sorted.size() && picks.size() < keep; i++) {
        std::string sig = signature(sorted[i]);
        if (std::find(seen.begin(), seen.end(), sig) != seen.end()) continue;
        seen.push_back(sig);
        picks.push_back(i);
        taken[i] = true;
    }
    for (size_t i = 0; i < sorted.size() && picks.size() < keep; i++) {
        if (!taken[i]) picks.push_back(i);
    }
    std::sort(picks.begin(), picks.end());
    std::vector<BeamEntry> out;
    for (size_t i : picks)
        out.push_back(std::move(sorted[i]));
    return out;
}

} // namespace

SearchResult beam_search(const PipelineGraph &g, const HarlOptions &opts, const MachineInfo &m,
                         CostModel &model) {
    using clock = std::chrono::steady_clock;
    auto start = clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
    std::mt19937_64 rng(opts.seed * 0x9E3779B97F4A7C15ull + 1);
    const SearchContext ctx = SearchContext::of(m, opts.max_candidates);

    BeamEntry init{ScheduleState(g, m.parallelism), std::vector<double>(g.num_nodes(), 0.0), 0};
    cost_nodes(init.state, g.decision_order(), m, model, &init.node_cost);
    init.total = std::accumulate(init.node_cost.begin(), init.node_cost.end(), 0.0);
    std::vector<BeamEntry> beam = {init};
    SearchResult res{init.state, 0, 0, 0, false, {}};
    bool hurry = false;

    while (!beam.front().state.complete()) {
        hurry = hurry || (opts.time_budget_s > 0 && elapsed() > 0.75 * opts.time_budget_s);
        const int node = beam.front().state.next_node();
        std::vector<BeamEntry> children;
        StageBatch batch(m);
        for (const BeamEntry &e : beam) {
            SearchContext c = ctx;
            if (hurry) c.max_candidates = 4;
            auto cands = candidate_choices(e.state, node, c, rng);
            HARL_ASSERT(!cands.empty(), "no legal schedule for Func " << g.node(node).name);
            if (hurry && cands.size() > 8) cands.resize(8);
            // Autotuning baseline: drop each candidate at random (keeping at least one).
            if (opts.dropout > 0 && cands.size() > 1) {
                std::vector<Decision> kept;
                for (const Decision &d : cands) {
                    if (std::uniform_real_distribution<double>(0, 1)(rng) >= opts.dropout) kept.push_back(d);
                }
                if (kept.empty())
                    kept.push_back(cands[std::uniform_int_distribution<size_t>(0, cands.size() - 1)(rng)]);
                cands = std::move(kept);
            }
            // Data collection: sometimes replace the decision by a random legal one.
            if (opts.randomize > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < opts.randomize) {
                auto pick = cands[std::uniform_int_distribution<size_t>(0, cands.size() - 1)(rng)];
                cands = {pick};
            }
            for (const Decision &d : cands) {
                BeamEntry child{d.retile ? e.state.retiled(d.retile_node, d.retile).with(node, d.choice)
                                         : e.state.with(node, d.choice),
                                e.node_cost, 0};
                // The decision changes this Func and the Funcs that consume it.
                std::vector<int> affected = {node};
                if (d.retile_node >= 0) affected.push_back(d.retile_node);
                for (int c2 : g.node(node).consumers) {
                    for (int ec : child.state.choice(c2).placement == Placement::Inline
                                      ? child.state.effective_consumers(c2)
                                      : std::vector<int>{c2}) {
                        if (std::find(affected.begin(), affected.end(), ec) == affected.end())
                            affected.push_back(ec);
                    }
                }
                batch.add(child.state, affected, (int)children.size(), &child.node_cost);
                children.push_back(std::move(child));
                res.states_evaluated++;
            }
        }
        // One batched prediction for every child of this step (fast for learned models).
        batch.predict(model, [&](int child, int n, double secs) { children[child].node_cost[n] += secs; });
        for (BeamEntry &c : children)
            c.total = std::accumulate(c.node_cost.begin(), c.node_cost.end(), 0.0);
        std::stable_sort(children.begin(), children.end(),
                         [](const BeamEntry &a, const BeamEntry &b) { return a.total < b.total; });
        if (opts.verbose >= 3) {
            for (size_t i = 0; i < children.size() && (i < 12 || opts.verbose >= 4); i++) {
                std::cerr << "HARL:   candidate " << i << " " << children[i].total * 1e3 << " ms\n"
                          << children[i].state.describe();
                if (opts.verbose >= 4) {
                    std::cerr << "HARL:   per Func ms:";
                    for (int n : g.decision_order())
                        std::cerr << " " << g.node(n).name << "=" << children[i].node_cost[n] * 1e3;
                    std::cerr << "\n";
                }
            }
        }
        size_t keep = hurry ? 1 : (size_t)opts.beam_size;
        beam = select_diverse(std::move(children), node, keep);
        if (opts.verbose >= 2) {
            std::cerr << "HARL: " << g.node(node).name << " -> best predicted " << beam.front().total * 1e3
                      << " ms\n";
        }
    }
    res.best = beam.front().state;
    res.cost = beam.front().total;
    for (const BeamEntry &e : beam)
        res.finalists.emplace_back(e.state, e.total);
    res.seconds = elapsed();
    res.budget_exhausted = hurry;
    return res;
}

} // namespace harl
