#include "ScheduleState.h"
#include "Errors.h"

#include <algorithm>
#include <sstream>

namespace harl {

bool StageChoice::operator==(const StageChoice &o) const {
    return tile == o.tile && vector_var == o.vector_var && vector_width == o.vector_width &&
           unroll == o.unroll && parallel_loops == o.parallel_loops && scheduled == o.scheduled;
}

std::vector<int64_t> LoopNest::covered(int level, const std::vector<Span> &full) const {
    std::vector<int64_t> c(full.size(), 1);
    for (int i = 0; i < std::min<int>(level, (int)loops.size()); i++) {
        for (int v : loops[i].vars)
            c[v] *= loops[i].extent;
    }
    for (size_t v = 0; v < full.size(); v++)
        c[v] = std::min<int64_t>(c[v], std::max<int64_t>(1, full[v].extent()));
    return c;
}

double LoopNest::iterations(int level) const {
    double n = 1;
    for (int i = level; i < (int)loops.size(); i++)
        n *= (double)loops[i].extent;
    return n;
}

LoopNest build_loop_nest(const Stage &st, const StageChoice &ch, const std::vector<Span> &box, bool named) {
    LoopNest nest;
    nest.loops.reserve(2 * st.loops.size() + 1);
    const std::string none;
    auto name = [&](const std::string &base, const char *suffix) { return named ? base + suffix : none; };
    const int n = (int)st.loops.size();
    auto ext = [&](int k) { return std::max<int64_t>(1, box[k].extent()); };
    if (!ch.scheduled) {
        for (int k = 0; k < n; k++) {
            LoopInfo l;
            l.kind = st.loops[k].rvar ? LoopInfo::RVar : LoopInfo::Outer;
            l.vars = {k};
            l.extent = ext(k);
            if (named) l.name = st.loops[k].schedule_name();
            nest.loops.push_back(l);
        }
        return nest;
    }
    HARL_ASSERT((int)ch.tile.size() == n,
                "stage " << st.name << " choice has " << ch.tile.size() << " tiles for " << n << " loops");
    HARL_ASSERT(ch.parallel_loops <= st.max_fused_parallel_loops(),
                "stage " << st.name << " fuses " << ch.parallel_loops << " parallel loops, at most "
                         << st.max_fused_parallel_loops() << " allowed");
    std::vector<LoopInfo> inner, rvars, outer;
    for (int k = 0; k < n; k++) {
        const LoopVar &lv = st.loops[k];
        if (lv.rvar) {
            rvars.push_back(
                {LoopInfo::RVar, {k}, ext(k), 1, false, false, false, named ? lv.schedule_name() : none});
            continue;
        }
        int64_t t = std::max<int64_t>(1, ch.tile[k]);
        if (k == ch.vector_var) {
            HARL_ASSERT(ch.vector_width > 1 && t % ch.vector_width == 0,
                        st.name << ": vector tile " << t << " is not a multiple of " << ch.vector_width);
            LoopInfo v{LoopInfo::Vector, {k}, ch.vector_width, ch.vector_width, false, false, true, ""};
            v.name = name(lv.name, "_v");
            nest.loops.push_back(v);
            if (t > ch.vector_width) {
                inner.push_back({LoopInfo::Inner,
                                 {k},
                                 t / ch.vector_width,
                                 t / ch.vector_width,
                                 false,
                                 ch.unroll,
                                 false,
                                 name(lv.name, "_i")});
            }
            outer.push_back(
                {LoopInfo::Outer, {k}, (ext(k) + t - 1) / t, 1, false, false, false, name(lv.name, "_o")});
        } else if (t == 1) {
            outer.push_back({LoopInfo::Outer, {k}, ext(k), 1, false, false, false, name(lv.name, "")});
        } else {
            inner.push_back({LoopInfo::Inner, {k}, t, t, false, ch.unroll, false, name(lv.name, "_i")});
            outer.push_back(
                {LoopInfo::Outer, {k}, (ext(k) + t - 1) / t, 1, false, false, false, name(lv.name, "_o")});
        }
    }
    for (auto *group : {&inner, &rvars})
        nest.loops.insert(nest.loops.end(), group->begin(), group->end());
    // Fuse the outermost `parallel_loops` outer loops into one parallel loop.
    int p = std::min<int>(ch.parallel_loops, (int)outer.size());
    for (int i = 0; i < (int)outer.size() - p; i++)
        nest.loops.push_back(outer[i]);
    if (p > 0) {
        LoopInfo f{LoopInfo::Outer, {}, 1, 1, true, false, false, ""};
        for (int i = (int)outer.size() - p; i < (int)outer.size(); i++) {
            f.vars.insert(f.vars.end(), outer[i].vars.begin(), outer[i].vars.end());
            f.extent *= outer[i].extent;
            if (named) f.name += (f.name.empty() ? "" : "_") + outer[i].name;
        }
        if (p > 1 && named) f.name += "_f";
        nest.loops.push_back(f);
    }
    return nest;
}

StageChoice default_stage_choice(const Stage &st, const std::vector<Span> &box, int parallelism) {
    StageChoice c;
    const int n = (int)st.loops.size();
    c.tile.assign(n, 1);
    if (!st.tileable()) {
        c.scheduled = false;
        return c;
    }
    int first_pure = -1, num_pure = 0;
    for (int k = 0; k < n; k++) {
        if (!st.loops[k].rvar) {
            if (first_pure < 0) first_pure = k;
            num_pure++;
        }
    }
    if (first_pure < 0) {
        c.scheduled = false;
        return c;
    }
    if (box[first_pure].extent() >= st.vector_lanes && st.vector_lanes > 1) {
        c.vector_var = first_pure;
        c.vector_width = st.vector_lanes;
        c.tile[first_pure] = st.vector_lanes;
    }
    // Parallelise the outermost pure loop when it has enough iterations.
    int last_pure = -1;
    for (int k = 0; k < n; k++) {
        if (!st.loops[k].rvar) last_pure = k;
    }
    if (parallelism > 1 && num_pure > 1 && box[last_pure].extent() >= parallelism) c.parallel_loops = 1;
    return c;
}

ScheduleState::ScheduleState(const PipelineGraph &g, int parallelism) : graph_(&g), choices_(g.num_nodes()) {
    auto defaults = std::make_shared<std::vector<std::shared_ptr<const FuncChoice>>>(g.num_nodes());
    for (int i = 0; i < g.num_nodes(); i++) {
        const Node &n = g.node(i);
        if (n.is_input) continue;
        auto fc = std::make_shared<FuncChoice>();
        fc->placement = Placement::Root;
        for (const auto &st : n.stages)
            fc->stages.push_back(default_stage_choice(st, st.loop_box(n.root), parallelism));
        (*defaults)[i] = fc;
    }
    defaults_ = std::move(defaults);
}

std::shared_ptr<FuncChoice> inline_choice(const Node &n) {
    auto fc = std::make_shared<FuncChoice>();
    fc->placement = Placement::Inline;
    fc->stages.assign(n.stages.size(), StageChoice{});
    for (StageChoice &sc : fc->stages)
        sc.scheduled = false;
    return fc;
}

int ScheduleState::next_node() const {
    HARL_ASSERT(!complete(), "no undecided Func left");
    return graph_->decision_order()[num_decided_];
}

const FuncChoice &ScheduleState::choice(int node) const {
    const auto &c = choices_.at(node);
    if (c) return *c;
    const auto &d = defaults_->at(node);
    HARL_ASSERT(d, "node " << node << " (" << graph_->node(node).name << ") has no schedule");
    return *d;
}

ScheduleState ScheduleState::with(int node, std::shared_ptr<const FuncChoice> c) const {
    HARL_ASSERT(!choices_.at(node), "Func " << graph_->node(node).name << " decided twice");
    HARL_ASSERT(c->stages.size() == graph_->node(node).stages.size(), "choice stage count mismatch");
    ScheduleState s = *this;
    s.choices_[node] = std::move(c);
    if (!complete() && graph_->decision_order()[num_decided_] == node) s.num_decided_++;
    return s;
}

ScheduleState ScheduleState::retiled(int node, std::shared_ptr<const FuncChoice> c) const {
    HARL_ASSERT(choices_.at(node), "retiling undecided Func " << graph_->node(node).name);
    for (size_t i = 0; i < choices_.size(); i++) {
        HARL_ASSERT(!(choices_[i] && choices_[i]->placement == Placement::At && choices_[i]->at_node == node),
                    "retiling " << graph_->node(node).name << " with " << graph_->node(i).name
                                << " inside it");
    }
    ScheduleState s = *this;
    s.choices_[node] = std::move(c);
    return s;
}

std::vector<int> ScheduleState::effective_consumers(int node) const {
    std::vector<int> out;
    for (int c : graph_->node(node).consumers) {
        if (choice(c).placement == Placement::Inline) {
            for (int cc : effective_consumers(c)) {
                if (std::find(out.begin(), out.end(), cc) == out.end()) out.push_back(cc);
            }
        } else if (std::find(out.begin(), out.end(), c) == out.end()) {
            out.push_back(c);
        }
    }
    return out;
}

int ScheduleState::level_within(int node, int outer) const {
    for (int cur = node; choice(cur).placement == Placement::At; cur = choice(cur).at_node) {
        if (choice(cur).at_node == outer) return choice(cur).at_loop;
    }
    return -1;
}

std::string ScheduleState::describe() const {
    std::ostringstream os;
    for (int i : graph_->decision_order()) {
        const Node &n = graph_->node(i);
        const FuncChoice &c = choice(i);
        os << n.name << ": ";
        if (c.placement == Placement::Inline) {
            os << "inline\n";
            continue;
        }
        if (c.placement == Placement::Root) os << "root";
        if (c.placement == Placement::At) {
            os << "at " << graph_->node(c.at_node).name << " loop " << c.at_loop;
            if (c.store_loop > c.at_loop) os << " store " << c.store_loop;
        }
        for (const auto &s : c.stages) {
            os << " | tiles";
            for (auto t : s.tile)
                os << " " << t;
            if (s.vector_var >= 0) os << " vec " << s.vector_var << "x" << s.vector_width;
            if (s.unroll) os << " unroll";
            if (s.parallel_loops) os << " par " << s.parallel_loops;
            if (!s.scheduled) os << " default";
        }
        os << "\n";
    }
    return os.str();
}

} // namespace harl
