#include "RlRefiner.h"
#include "../Errors.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>

namespace harl {

RlRefiner::RlRefiner(EditSpace &space, PolicyWeights &policy, const RefineOptions &opts)
    : space_(space), policy_(policy), opts_(opts), rng_(opts.seed * 0x9E3779B97F4A7C15ull + 99),
      history_(space.graph().num_nodes()) {}

int RlRefiner::sample(const std::vector<double> &p) {
    double u = std::uniform_real_distribution<double>(0, 1)(rng_), acc = 0;
    for (size_t i = 0; i < p.size(); i++) {
        acc += p[i];
        if (u < acc) return (int)i;
    }
    return (int)p.size() - 1;
}

Episode RlRefiner::run_episode(const ScheduleState &start, double start_cost, int length,
                               double temperature) {
    const PipelineGraph &g = space_.graph();
    Episode ep{{}, {}, {}, {}, {}, start, start_cost};
    ScheduleState cur = start;
    std::vector<double> node_cost;
    double cur_cost = space_.cost(cur, &node_cost);
    std::vector<int> nodes;
    for (int n : g.decision_order())
        nodes.push_back(n);
    std::vector<bool> exhausted(g.num_nodes(), false); // no edits in the current schedule
    for (int step = 0; step < length; step++) {
        std::vector<int> live;
        for (int n : nodes) {
            if (!exhausted[n]) live.push_back(n);
        }
        if (live.empty()) break;
        // (1) Which stage.
        std::vector<float> srows = stage_rows(cur, live, node_cost, history_);
        std::vector<double> sp =
            softmax(policy_.nets[StageNet].forward(srows, (int)live.size()), temperature);
        const int si = sample(sp);
        const int node = live[si];
        std::vector<Edit> edits = space_.edits(cur, node);
        if (edits.empty()) {
            exhausted[node] = true;
            step--; // choosing a stage without edits is not a step
            continue;
        }
        // (2) Which kind of change.
        std::vector<EditKind> kinds;
        std::vector<int> per_kind;
        for (int k = 0; k < kNumEditKinds; k++) {
            int c = (int)std::count_if(edits.begin(), edits.end(),
                                       [&](const Edit &e) { return (int)e.kind == k; });
            if (c > 0) {
                kinds.push_back((EditKind)k);
                per_kind.push_back(c);
            }
        }
        const float *own = srows.data() + (size_t)si * kStageInputs;
        std::vector<float> krows = kind_rows(own, kinds, per_kind, history_[node]);
        std::vector<double> kp =
            softmax(policy_.nets[KindNet].forward(krows, (int)kinds.size()), temperature);
        const int ki = sample(kp);
        // (3) Which edit: at most max_values of that kind, each predicted by the cost model.
        std::vector<Edit> of_kind;
        for (const Edit &e : edits) {
            if (e.kind == kinds[ki]) of_kind.push_back(e);
        }
        std::shuffle(of_kind.begin(), of_kind.end(), rng_);
        if ((int)of_kind.size() > opts_.max_values) of_kind.resize(opts_.max_values);
        std::vector<ScheduleState> next;
        std::vector<double> after;
        std::vector<std::vector<double>> after_nodes(of_kind.size()); // per-node costs, for the one taken
        for (size_t i = 0; i < of_kind.size(); i++) {
            next.push_back(space_.apply(cur, of_kind[i]));
            after.push_back(space_.cost(next.back(), &after_nodes[i]));
        }
        std::vector<float> vrows = value_rows(cur, of_kind, after, cur_cost);
        std::vector<double> vp =
            softmax(policy_.nets[ValueNet].forward(vrows, (int)of_kind.size()), temperature);
        const int vi = sample(vp);

        const double progress = (double)step / std::max(1, length);
        ep.critic.push_back({critic_row(srows, (int)live.size(), progress), 0});
        ep.decisions.push_back({StageNet, std::move(srows), (int)live.size(), si, temperature, 0});
        ep.decisions.push_back({KindNet, std::move(krows), (int)kinds.size(), ki, temperature, 0});
        ep.decisions.push_back({ValueNet, std::move(vrows), (int)of_kind.size(), vi, temperature, 0});
        for (int k = 0; k < 3; k++)
            ep.step_of_decision.push_back(step);

        const double new_cost = after[vi];
        node_cost = std::move(after_nodes[vi]);
        ep.rewards.push_back(std::log(cur_cost / std::max(new_cost, 1e-15)));
        EditHistory &h = history_[node];
        h.tries++;
        h.kind_tries[(int)kinds[ki]]++;
        if (new_cost < cur_cost) {
            h.wins++;
            h.kind_wins[(int)kinds[ki]]++;
        }
        cur = next[vi];
        cur_cost = new_cost;
        std::fill(exhausted.begin(), exhausted.end(), false);
        ep.visited.emplace_back(cur, cur_cost);
        if (cur_cost < ep.best_cost) {
            ep.best = cur;
            ep.best_cost = cur_cost;
        }
        if (opts_.verbose >= 3) {
            std::cerr << "HARL-RL:   " << g.node(node).name << " " << edit_kind_name(kinds[ki]) << " ("
                      << of_kind.size() << " of " << edits.size() << " edits) -> " << cur_cost * 1e3
                      << " ms\n";
        }
    }
    return ep;
}

void RlRefiner::finish(Episode &ep, double terminal) const {
    const int n = (int)ep.rewards.size();
    if (n > 0) ep.rewards.back() += terminal;
    std::vector<double> ret(n);
    double g = 0;
    for (int t = n - 1; t >= 0; t--)
        ret[t] = g = ep.rewards[t] + 0.9 * g;
    std::vector<double> advantage(n);
    for (int t = 0; t < n; t++) {
        ep.critic[t].target = ret[t];
        advantage[t] = ret[t] - policy_.nets[CriticNet].forward(ep.critic[t].row, 1)[0];
    }
    for (size_t i = 0; i < ep.decisions.size(); i++)
        ep.decisions[i].advantage = advantage[ep.step_of_decision[i]];
}

void RlRefiner::learn(const Episode &ep) {
    if (opts_.adapt) policy_gradient_step(policy_, ep.decisions, ep.critic, opts_.lr);
}

void RlRefiner::adapt_schedule(Schedule &s, bool improved) const {
    if (improved) {
        s.temperature = std::max(0.1, s.temperature * 0.7);
        s.length = std::max(2, s.length - 1);
        s.stall = 0;
    } else {
        s.temperature = std::min(4.0, s.temperature * 1.5);
        s.length = std::min(opts_.max_episode, s.length + 2);
        s.stall++;
    }
}

RefineResult RlRefiner::refine(const ScheduleState &start) {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
    RefineResult res{start};
    res.start_cost = res.best_cost = space_.cost(start);
    Schedule sched = initial_schedule();
    while (elapsed() < opts_.budget_s && res.episodes < opts_.max_episodes) {
        if (sched.stall >= opts_.patience) {
            res.stalled = true;
            break;
        }
        Episode ep = run_episode(res.best, res.best_cost, sched.length, sched.temperature);
        finish(ep);
        learn(ep);
        res.episodes++;
        res.steps += (int)ep.rewards.size();
        const bool improved = ep.best_cost < res.best_cost * (1 - 1e-4);
        if (improved) {
            res.best = ep.best;
            res.best_cost = ep.best_cost;
        }
        if (opts_.verbose >= 2) {
            std::cerr << "HARL-RL: episode " << res.episodes << " (T=" << sched.temperature << ", "
                      << ep.rewards.size() << " edits): best " << res.best_cost * 1e3 << " ms"
                      << (improved ? " (improved)" : "") << "\n";
        }
        adapt_schedule(sched, improved);
    }
    res.seconds = elapsed();
    return res;
}

} // namespace harl
