#include "EditSpace.h"
#include "../BeamSearch.h"
#include "../Errors.h"

#include <algorithm>
#include <numeric>

namespace harl {

const char *edit_kind_name(EditKind k) {
    static const char *names[] = {"placement", "tiling", "vector/unroll", "parallel"};
    return names[(int)k];
}

bool same_choice(const FuncChoice &a, const FuncChoice &b) {
    if (a.placement != b.placement || a.stages.size() != b.stages.size()) return false;
    if (a.placement == Placement::At &&
        (a.at_node != b.at_node || a.at_loop != b.at_loop || a.store_loop != b.store_loop)) {
        return false;
    }
    if (a.placement == Placement::Inline) return true;
    for (size_t i = 0; i < a.stages.size(); i++) {
        if (!(a.stages[i] == b.stages[i])) return false;
    }
    return true;
}

namespace {

// The kind of change from `cur` to `next` (same Func).
EditKind classify(const FuncChoice &cur, const Decision &d) {
    const FuncChoice &n = *d.choice;
    if (d.retile || n.placement != cur.placement || n.at_node != cur.at_node || n.at_loop != cur.at_loop ||
        n.store_loop != cur.store_loop || n.placement == Placement::Inline) {
        return EditKind::Placement;
    }
    bool tiles = false, vec = false;
    for (size_t i = 0; i < n.stages.size(); i++) {
        const StageChoice &a = cur.stages[i], &b = n.stages[i];
        tiles |= a.tile != b.tile || a.scheduled != b.scheduled;
        vec |= a.vector_var != b.vector_var || a.vector_width != b.vector_width || a.unroll != b.unroll;
    }
    if (tiles) return EditKind::Tiling;
    return vec ? EditKind::VectorUnroll : EditKind::Parallel;
}

bool contains(const std::vector<int> &v, int x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

} // namespace

EditSpace::EditSpace(const PipelineGraph &g, const MachineInfo &m, CostModel &model, const SearchContext &ctx,
                     uint64_t seed)
    : g_(g), m_(m), model_(model), ctx_(ctx), rng_(seed * 0x2545F4914F6CDD1Dull + 7) {}

double EditSpace::cost(const ScheduleState &s, std::vector<double> *node_cost) {
    std::vector<double> nc(g_.num_nodes(), 0.0);
    cost_nodes(s, g_.decision_order(), m_, model_, &nc);
    if (node_cost) *node_cost = nc;
    return std::accumulate(nc.begin(), nc.end(), 0.0);
}

ScheduleState EditSpace::prefix(const ScheduleState &s, int node) const {
    ScheduleState t(g_, m_.parallelism);
    for (int k : g_.decision_order()) {
        if (k == node) break;
        t = t.with(k, s.choice_ptr(k));
    }
    return t;
}

std::vector<Edit> EditSpace::edits(const ScheduleState &s, int node) {
    HARL_ASSERT(s.complete(), "edits of an incomplete schedule");
    const Node &n = g_.node(node);
    if (n.is_input) return {};
    const FuncChoice &cur = s.choice(node);
    std::vector<Edit> out;
    auto add = [&](const Decision &d, EditKind kind) {
        if (!d.retile && same_choice(*d.choice, cur)) return;
        // Edits never introduce hoisted storage (sliding windows): combined with the loop nests
        // edits reach, Halide 14 computed wrong values for some (found by the edit fuzzer).
        if (d.choice->store_loop > d.choice->at_loop &&
            !(cur.placement == Placement::At && cur.store_loop == d.choice->store_loop &&
              cur.at_node == d.choice->at_node)) {
            return;
        }
        for (const Edit &e : out) {
            if (e.decision.retile_node == d.retile_node && same_choice(*e.decision.choice, *d.choice) &&
                (!d.retile || same_choice(*e.decision.retile, *d.retile))) {
                return;
            }
        }
        out.push_back({node, kind, d});
    };
    for (const Decision &d : candidate_choices(prefix(s, node), node, ctx_, rng_))
        add(d, classify(cur, d));
    // Parallelism one step up or down (root Funcs: never inside another parallel loop), or
    // removed from a Func computed inside a consumer.
    if (cur.placement != Placement::Inline && ctx_.parallelism > 1) {
        for (size_t si = 0; si < cur.stages.size(); si++) {
            const StageChoice &sc = cur.stages[si];
            if (!sc.scheduled) continue;
            const int most = n.stages[si].max_fused_parallel_loops();
            for (int delta : {-1, 1}) {
                int p = sc.parallel_loops + delta;
                if (p < 0 || p > most || (delta > 0 && cur.placement != Placement::Root)) continue;
                auto fc = std::make_shared<FuncChoice>(cur);
                fc->stages[si].parallel_loops = p;
                add({fc, -1, nullptr}, EditKind::Parallel);
            }
        }
    }
    return out;
}

std::shared_ptr<const FuncChoice> EditSpace::repair(const ScheduleState &partial, int node) {
    SearchContext c = ctx_;
    c.max_candidates = std::min(ctx_.max_candidates, 16);
    std::vector<Decision> cands = candidate_choices(partial, node, c, rng_);
    HARL_ASSERT(!cands.empty(), "no legal schedule for Func " << g_.node(node).name << " while repairing");
    std::shared_ptr<const FuncChoice> best;
    double best_cost = 0;
    for (const Decision &d : cands) {
        if (d.retile) continue; // a repair keeps its consumers as they are
        double c2 = cost(partial.with(node, d.choice));
        if (!best || c2 < best_cost) {
            best = d.choice;
            best_cost = c2;
        }
    }
    HARL_ASSERT(best, "only retiling decisions for Func " << g_.node(node).name);
    return best;
}

ScheduleState EditSpace::apply(const ScheduleState &s, const Edit &e) {
    ScheduleState t(g_, m_.parallelism);
    std::vector<int> changed = {e.node};
    if (e.decision.retile_node >= 0) changed.push_back(e.decision.retile_node);
    for (int k : g_.decision_order()) {
        if (k == e.node) {
            if (e.decision.retile) t = t.retiled(e.decision.retile_node, e.decision.retile);
            t = t.with(k, e.decision.choice);
            continue;
        }
        const FuncChoice &old = s.choice(k);
        bool fits = true;
        if (old.placement == Placement::At) {
            // Computed inside loops that changed?
            for (int a = k; fits && s.choice(a).placement == Placement::At; a = s.choice(a).at_node)
                fits = !contains(changed, s.choice(a).at_node);
            // Consumers that changed, or now others (an inlined consumer became a Func or back)?
            std::vector<int> before = s.effective_consumers(k), after = t.effective_consumers(k);
            std::sort(before.begin(), before.end());
            std::sort(after.begin(), after.end());
            fits = fits && before == after;
            for (int c : after)
                fits = fits && !contains(changed, c);
        }
        if (fits) {
            t = t.with(k, s.choice_ptr(k));
        } else {
            auto fixed = repair(t, k);
            t = t.with(k, fixed);
            if (!same_choice(*fixed, old)) changed.push_back(k);
        }
    }
    HARL_ASSERT(t.complete(), "edited schedule is incomplete");
    return t;
}

} // namespace harl
