#include "Featurizer.h"
#include "CacheSets.h"
#include "Errors.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace harl {

namespace {

// The tile of `cov` points per dimension in the middle of `full`: footprints are evaluated on
// it as representative of every tile. (The first tile is not: where a consumer reads a
// producer along paths of different scales, x and x/2 say, they meet at the origin, and a
// tile there needs a sliver of what the others need.)
std::vector<Span> shrink(const std::vector<Span> &full, const std::vector<int64_t> &cov) {
    std::vector<Span> b(full.size());
    for (size_t i = 0; i < full.size(); i++) {
        const int64_t start = full[i].min + std::max<int64_t>(0, full[i].extent() - cov[i]) / 2;
        b[i] = {start, start + cov[i] - 1};
    }
    return b;
}

} // namespace

Featurizer::Featurizer(const ScheduleState &s, const MachineInfo &m) : s_(s), g_(s.graph()), m_(m) {}

Region Featurizer::apply_chain(const EffectiveLoad &l, const std::vector<Span> &box) const {
    std::vector<Span> b = box;
    for (const AccessMap *am : l.chain)
        b = am->apply(b, g_.node(am->producer).root);
    return b;
}

const std::vector<EffectiveLoad> &Featurizer::effective_loads(const Stage &st, OpCounts *ops) const {
    auto memo = loads_memo_.find(&st);
    if (memo == loads_memo_.end()) memo = loads_memo_.emplace(&st, compute_effective_loads(st)).first;
    if (ops) *ops = memo->second.ops;
    return memo->second.loads;
}

Featurizer::StageLoads Featurizer::compute_effective_loads(const Stage &st) const {
    StageLoads result;
    std::vector<EffectiveLoad> &out = result.loads;
    OpCounts &ops = result.ops;
    ops = st.ops;
    // Depth-first through inlined producers.
    struct Item {
        const AccessMap *am;
        std::vector<const AccessMap *> prefix;
        double mult;
    };
    std::vector<Item> work;
    for (const auto &am : st.loads)
        work.push_back({&am, {}, 1.0});
    while (!work.empty()) {
        Item it = work.back();
        work.pop_back();
        std::vector<const AccessMap *> chain = it.prefix;
        chain.push_back(it.am);
        const Node &p = g_.node(it.am->producer);
        double calls = it.mult * it.am->calls;
        if (!p.is_input && s_.choice(it.am->producer).placement == Placement::Inline) {
            const Stage &ps = p.stages[0];
            for (int k = 0; k < NumOpKinds; k++)
                ops[k] += calls * ps.ops[k];
            ops[OpLoad] -= calls; // the call became arithmetic
            for (const auto &am : ps.loads)
                work.push_back({&am, chain, calls});
            continue;
        }
        bool merged = false;
        for (auto &e : out) {
            if (e.producer == it.am->producer && e.chain.size() == chain.size() && e.chain == chain) {
                e.calls += calls;
                merged = true;
            }
        }
        if (!merged) out.push_back({it.am->producer, chain, calls});
    }
    return result;
}

double Featurizer::set_conflict_bytes(int node, int si, const std::vector<EffectiveLoad> &loads,
                                      double *accumulator_lines) {
    *accumulator_lines = 0;
    const Node &n = g_.node(node);
    const Realization &r = realization(node);
    const LoopNest &nest = r.nests[si];
    // The block: the vector and inner loops inside a reduction's RVar loops. What one block
    // touches (the accumulators, the loads that do not move with the RVars) is reused from L1
    // on the next RVar iteration only if its lines fit their sets.
    size_t inner = 0;
    while (inner < nest.loops.size() && nest.loops[inner].kind != LoopInfo::RVar)
        inner++;
    if (!s_.choice(node).stages[si].scheduled || inner < 2 || inner == nest.loops.size()) return 0;
    const double blocks = r.count * nest.iterations((int)inner);
    // Lines of sets holding more of the block's lines than their ways: each access misses.
    std::vector<double> block; // (stride in bytes, extent) of each loop of the block
    block.reserve(2 * inner);
    auto thrashing_lines = [&](auto &&stride_bytes) {
        block.clear();
        for (size_t i = 0; i < inner; i++) {
            block.push_back(stride_bytes(nest.loops[i].vars[0]));
            block.push_back((double)nest.loops[i].extent);
        }
        return l1_thrashing_lines(block);
    };
    int thrashing = thrashing_lines([&](int k) { // the accumulators: the stage's own storage
        return own_storage_stride(node, si, k) * n.bytes;
    });
    *accumulator_lines = blocks * thrashing;
    for (const EffectiveLoad &l : loads) {
        const double elem = g_.node(l.producer).bytes;
        thrashing += thrashing_lines([&](int k) { return element_stride(l, k) * elem; });
    }
    return blocks * thrashing * kLineBytes;
}

double Featurizer::own_storage_stride(int node, int si, int k) {
    const LoopVar &lv = g_.node(node).stages[si].loops[k];
    if (lv.rvar) return 0;
    // Dimension 0 innermost, the realization's extents.
    const Region &region = realization(node).region;
    double stride = 1;
    for (int d = 0; d < lv.pure_dim && d < (int)region.size(); d++)
        stride *= (double)std::max<int64_t>(1, region[d].extent());
    return stride;
}

double Featurizer::shared_line_fraction(int node, int si) {
    const Realization &r = realization(node);
    const Stage &st = g_.node(node).stages[si];
    const LoopNest &nest = r.nests[si];
    const std::vector<Span> &box = r.boxes[si];
    int p = -1;
    for (size_t i = 0; i < nest.loops.size(); i++) {
        if (nest.loops[i].parallel) p = (int)i;
    }
    if (p < 0 || nest.loops[p].extent <= 1) return 0;
    // One task's box, and the loop var whose tiles neighbouring tasks are: the innermost var
    // of the (possibly fused) parallel loop that it splits into more than one tile.
    const std::vector<int64_t> task = nest.covered(p, box);
    int step = -1;
    for (int v : nest.loops[p].vars) {
        if (task[v] < std::max<int64_t>(1, box[v].extent())) {
            step = v;
            break;
        }
    }
    if (step < 0 || st.loops[step].rvar) return 0;
    // The task's contiguous run of the storage (dimension 0 innermost): whole dimensions while
    // the task covers them, then its part of the dimension the tasks step along. A dimension
    // partly covered before that one leaves neighbouring tasks rows apart.
    const Region &region = r.region;
    double run = g_.node(node).bytes, row = run;
    bool reached = false;
    int d = 0;
    for (; d < (int)region.size() && !reached; d++) {
        const int k = st.loop_of_pure(d);
        if (k < 0) return 0; // indexed by an RVar or a constant: not a plain walk
        const int64_t full = std::max<int64_t>(1, region[d].extent());
        row *= (double)full;
        if (k == step) {
            run *= (double)task[k];
            reached = true;
            continue;
        }
        if (task[k] < full) return 0;
        run *= (double)full;
    }
    if (!reached) return 0;
    // Tasks start at multiples of their run from the start of a row (the dimensions up to the
    // one they step along): a run that is not whole lines shares the lines at each end.
    if (std::fmod(run, (double)kLineBytes) != 0) return std::min(1.0, kLineBytes / run);
    // A run of whole lines shares none in a line-aligned row. Rows `row` bytes apart start at
    // every multiple of gcd(row, 64) within a line: in the others each run's vectors straddle
    // lines whose ends the neighbouring tasks write. (Unseen dense block 9950000: 16-float
    // column strips of accumulator rows 2792 floats apart, one task per strip and 32 rows,
    // ran 62-70 ms; the same rows in tasks of 16 whole rows 6.2 ms.)
    double rows = 1;
    for (; d < (int)region.size(); d++)
        rows *= (double)std::max<int64_t>(1, region[d].extent());
    if (rows <= 1) return 0;
    const int64_t row_bytes = (int64_t)row;
    const double aligned =
        (double)std::gcd(row_bytes % (int64_t)kLineBytes, (int64_t)kLineBytes) / kLineBytes;
    if (aligned >= 1) return 0;
    return (1.0 - aligned) * std::min(1.0, 2.0 * kLineBytes / run);
}

template <typename Visit>
bool Featurizer::walk_chain_moves(const EffectiveLoad &l, int k, Visit &&visit) const {
    const AccessMap &front = *l.chain.front();
    // How far each loop var of the current stage moves when loop k advances by one, then each
    // dimension of the Func it reads, through the inlined Funcs down to the stored one.
    std::vector<double> move(front.min.empty() ? 0 : front.min[0].a.size(), 0.0), dims;
    if (k < 0 || k >= (int)move.size()) return false;
    move[k] = 1;
    for (size_t i = 0; i < l.chain.size(); i++) {
        const AccessMap &am = *l.chain[i];
        dims.assign(am.min.size(), 0.0);
        for (size_t d = 0; d < am.min.size(); d++) {
            const AffineBound &b = am.min[d];
            if (!b.affine) {
                dims[d] = NAN;
                continue;
            }
            for (size_t j = 0; j < move.size() && j < b.a.size(); j++)
                dims[d] += (b.a[j] + b.b[j]) * move[j];
        }
        if (!visit(i, dims) || i + 1 == l.chain.size()) break;
        const Stage &inlined = g_.node(am.producer).stages[0];
        move.assign(inlined.loops.size(), 0.0);
        for (size_t j = 0; j < inlined.loops.size(); j++) {
            const int d = inlined.loops[j].pure_dim;
            if (d >= 0 && d < (int)dims.size()) move[j] = std::isnan(dims[d]) ? 1.0 : dims[d];
        }
    }
    return true;
}

double Featurizer::element_stride(const EffectiveLoad &l, int k) const {
    if (l.chain.front()->min.empty()) return 0; // a scalar: every lane reads the same element
    double stride = NAN;
    walk_chain_moves(l, k, [&](size_t i, const std::vector<double> &dims) {
        for (double m : dims) {
            if (std::isnan(m)) return false;
        }
        if (i + 1 < l.chain.size()) return true;
        // Dimension 0 innermost in storage, strides from the root extents.
        const Node &p = g_.node(l.chain[i]->producer);
        double step = 1;
        stride = 0;
        for (size_t d = 0; d < dims.size(); d++) {
            stride += dims[d] * step;
            step *= (double)std::max<int64_t>(1, p.root[d].extent());
        }
        return true;
    });
    return stride;
}

Featurizer::ClampExposure Featurizer::clamp_exposure(const EffectiveLoad &l, int k) const {
    ClampExposure out;
    walk_chain_moves(l, k, [&](size_t i, const std::vector<double> &dims) {
        const AccessMap &am = *l.chain[i];
        for (size_t d = 0; d < dims.size(); d++) {
            if (dims[d] == 0 || !am.clamped((int)d)) continue;
            out.through_clamp = true;
            out.binds_low |= d < am.clamp_binds_low.size() && am.clamp_binds_low[d];
            out.binds_high |= d < am.clamp_binds_high.size() && am.clamp_binds_high[d];
        }
        return true;
    });
    return out;
}

double Featurizer::border_fraction(int node, int si, const std::vector<EffectiveLoad> &loads,
                                   const std::vector<Level> &lv) {
    bool any_cut = false; // most pipelines have no clamps that cut: skip the walks
    for (const EffectiveLoad &l : loads) {
        for (const AccessMap *am : l.chain) {
            for (size_t d = 0; d < am->clamp_binds_low.size(); d++)
                any_cut = any_cut || am->clamp_binds_low[d] || am->clamp_binds_high[d];
        }
    }
    if (!any_cut) return 0;
    const Stage &st = g_.node(node).stages[si];
    const LoopNest &nest = realization(node).nests[si];
    const std::vector<Span> full = st.loop_box(g_.node(node).root);
    // Iterations of the outermost loop over loop var k, in the stage's nest or in a consumer's
    // it is computed inside (1: none). Halide partitions that loop: a clamp that cuts at one
    // end leaves its first or last iteration with every clamp in place.
    auto outermost_iterations = [&](int k) {
        const double e = (double)std::max<int64_t>(1, full[k].extent());
        double tile = 0;
        for (size_t lev = !nest.loops.empty() && nest.loops[0].vectorized ? 1 : 0; lev < lv.size(); lev++) {
            const double b = (double)std::max<int64_t>(1, lv[lev].box[k].extent());
            if (b < e) tile = std::max(tile, b);
        }
        return tile > 0 ? std::ceil(e / tile) : 1.0;
    };
    double steady = 1;
    for (size_t k = 0; k < st.loops.size(); k++) {
        if (st.loops[k].rvar) continue;
        bool low = false, high = false;
        for (const EffectiveLoad &l : loads) {
            const ClampExposure c = clamp_exposure(l, (int)k);
            low |= c.binds_low;
            high |= c.binds_high;
        }
        if (low || high) steady *= std::max(0.0, 1.0 - (double)(low + high) / outermost_iterations((int)k));
    }
    return 1.0 - steady;
}

Region Featurizer::region_of(int producer, int consumer, const std::vector<Span> &consumer_box) const {
    const Node &n = g_.node(producer);
    Region reg;
    for (const auto &l : effective_loads(g_.node(consumer).stages[0], nullptr)) {
        if (l.producer == producer) region_union(&reg, apply_chain(l, consumer_box));
    }
    // Other consumers computed inside the consumer's loops need their share too.
    for (int h : s_.effective_consumers(producer)) {
        if (h == consumer || s_.level_within(h, consumer) < 0) continue;
        Region rh = region_of(h, consumer, consumer_box);
        for (const Stage &st : g_.node(h).stages) {
            for (const auto &l : effective_loads(st, nullptr)) {
                if (l.producer == producer) region_union(&reg, apply_chain(l, st.loop_box(rh)));
            }
        }
    }
    HARL_ASSERT(!reg.empty(),
                n.name << " computed at " << g_.node(consumer).name << " which does not need it");
    for (size_t d = 0; d < reg.size(); d++) {
        if (reg[d].extent() > n.root[d].extent()) reg[d] = n.root[d];
    }
    return reg;
}

std::vector<char> Featurizer::fixed_dims(int producer, int consumer, const std::vector<Span> &box,
                                         const std::vector<char> &fixed_vars) const {
    const Region base = region_of(producer, consumer, box);
    std::vector<char> fixed(base.size(), 1);
    // Bounds through a clamp or a division (a fractional coefficient) do not simplify to a
    // constant extent in Halide (its allocation is sized with the clamp, or with the remainder
    // of the division); one along an inlined Func's dimension unfixes every dimension.
    auto unfix_irregular = [&](const EffectiveLoad &l) {
        if (l.producer != producer) return;
        for (size_t i = 0; i < l.chain.size(); i++) {
            const AccessMap &am = *l.chain[i];
            for (size_t d = 0; d < am.min.size(); d++) {
                bool irregular = am.clamped((int)d);
                for (const auto *bounds : {&am.min, &am.max}) {
                    const AffineBound &b = (*bounds)[d];
                    for (size_t k = 0; b.affine && k < b.a.size(); k++)
                        irregular |= b.a[k] != std::round(b.a[k]) || b.b[k] != std::round(b.b[k]);
                }
                if (!irregular) continue;
                if (i + 1 == l.chain.size() && d < fixed.size())
                    fixed[d] = 0;
                else
                    std::fill(fixed.begin(), fixed.end(), 0);
            }
        }
    };
    for (const auto &l : effective_loads(g_.node(consumer).stages[0], nullptr))
        unfix_irregular(l);
    for (int h : s_.effective_consumers(producer)) {
        if (h == consumer || s_.level_within(h, consumer) < 0) continue;
        for (const Stage &st : g_.node(h).stages)
            for (const auto &l : effective_loads(st, nullptr))
                unfix_irregular(l);
    }
    // A dimension whose extent changes with the extent of a loop var that has none fixed.
    std::vector<Span> other = box;
    bool moved = false;
    for (size_t k = 0; k < box.size() && k < fixed_vars.size(); k++) {
        if (fixed_vars[k]) continue;
        moved = true;
        other[k].max += other[k].extent() > 1 ? -1 : 1;
    }
    if (moved) {
        const Region r = region_of(producer, consumer, other);
        for (size_t d = 0; d < fixed.size() && d < r.size(); d++)
            if (r[d].extent() != base[d].extent()) fixed[d] = 0;
    }
    return fixed;
}

std::vector<Featurizer::Level> Featurizer::levels(int node, int si) {
    const Realization &r = realization(node);
    const LoopNest &nest = r.nests[si];
    const std::vector<Span> &box = r.boxes[si];
    std::vector<Level> out;
    out.reserve(nest.loops.size() + 1);
    for (int lev = 0; lev <= (int)nest.loops.size(); lev++) {
        out.push_back({shrink(box, nest.covered(lev, box)), nest.iterations(lev) * r.count});
    }
    std::vector<int> chain = {node};
    for (int cur = node; s_.choice(cur).placement == Placement::At;) {
        const FuncChoice &c = s_.choice(cur);
        const Realization &gr = realization(c.at_node);
        const LoopNest &gn = gr.nests[0];
        for (int lev = c.at_loop + 1; lev <= (int)gn.loops.size(); lev++) {
            Region reg = region_of(cur, c.at_node, shrink(gr.boxes[0], gn.covered(lev, gr.boxes[0])));
            for (int i = (int)chain.size() - 2; i >= 0; i--) {
                reg = region_of(chain[i], chain[i + 1], g_.node(chain[i + 1]).stages[0].loop_box(reg));
            }
            out.push_back({g_.node(node).stages[si].loop_box(reg), gn.iterations(lev) * gr.count});
        }
        cur = c.at_node;
        chain.push_back(cur);
    }
    return out;
}

const Realization &Featurizer::realization(int node) {
    auto it = memo_.find(node);
    if (it != memo_.end()) return it->second;
    const Node &n = g_.node(node);
    const FuncChoice &c = s_.choice(node);
    Realization r;
    HARL_ASSERT(c.placement != Placement::Inline, "inlined Func " << n.name << " has no realization");
    if (c.placement == Placement::Root) {
        r.region = n.root;
        r.alloc_points = (double)region_points(n.root);
        // Sized by the outputs' extents, known only when the pipeline runs: one heap buffer.
        r.fixed.assign(n.root.size(), 0);
        r.heap_allocations = n.is_input || n.is_output ? 0 : 1;
    } else {
        const Realization &cr = realization(c.at_node);
        const Node &cn = g_.node(c.at_node);
        const LoopNest &nest = cr.nests[0];
        HARL_ASSERT(c.at_loop >= 0 && c.at_loop < (int)nest.loops.size(),
                    n.name << " computed at loop " << c.at_loop << " of " << cn.name << " which has "
                           << nest.loops.size());
        auto region_at = [&](int level) {
            return region_of(node, c.at_node, shrink(cr.boxes[0], nest.covered(level, cr.boxes[0])));
        };
        r.region = region_at(c.at_loop);
        r.count = cr.count * nest.iterations(c.at_loop);
        int store = std::max(c.store_loop, c.at_loop);
        Region sreg = region_at(store);
        r.alloc_points = (double)region_points(sreg);
        r.alloc_count = cr.count * nest.iterations(store);
        // Which of the consumer's loop vars one iteration of loop `level` covers with a constant
        // extent: those with no loop inside it, or only the inner loops of a split (constant
        // factors); a whole loop over a var inside it spans the consumer's own extent there.
        // Where the consumer slides a window, what each iteration computes varies: none.
        const Stage &cst = cn.stages[0];
        const FuncChoice &cc = s_.choice(c.at_node);
        const bool consumer_slides = cc.placement == Placement::At && cc.store_loop > cc.at_loop;
        auto fixed_vars = [&](int level) {
            std::vector<char> out(cst.loops.size(), !consumer_slides);
            if (consumer_slides) return out;
            for (size_t k = 0; k < cst.loops.size(); k++) {
                int outer = -1;
                bool inside = false;
                for (int lev = 0; lev < (int)nest.loops.size(); lev++) {
                    const auto &vars = nest.loops[lev].vars;
                    if (std::find(vars.begin(), vars.end(), (int)k) == vars.end()) continue;
                    if (nest.loops[lev].kind == LoopInfo::Outer) outer = lev;
                    inside |= lev < level;
                }
                if (!inside || outer >= level) continue;
                const int d = cst.loops[k].pure_dim;
                out[k] = cst.loops[k].rvar || (d >= 0 && d < (int)cr.fixed.size() && cr.fixed[d]);
            }
            return out;
        };
        const std::vector<char> store_fixed = fixed_dims(
            node, c.at_node, shrink(cr.boxes[0], nest.covered(store, cr.boxes[0])), fixed_vars(store));
        const bool constant = std::all_of(store_fixed.begin(), store_fixed.end(), [](char x) { return x; });
        r.heap_allocations = constant && r.alloc_points * n.bytes <= kHalideStackBytes ? 0 : r.alloc_count;
        // Halide's sliding window computes a different part of the region in each iteration.
        if (store > c.at_loop)
            r.fixed.assign(r.region.size(), 0);
        else
            r.fixed = store_fixed;
    }
    if (c.placement == Placement::Root) r.alloc_count = 1;
    r.boxes.reserve(n.stages.size());
    r.nests.reserve(n.stages.size());
    for (size_t si = 0; si < n.stages.size(); si++) {
        r.boxes.push_back(n.stages[si].loop_box(r.region));
        r.nests.push_back(build_loop_nest(n.stages[si], c.stages[si], r.boxes.back(), /*named=*/false));
    }
    return memo_.emplace(node, std::move(r)).first->second;
}

StageFeatures Featurizer::stage_features(int node, int si) {
    const Node &n = g_.node(node);
    const Stage &st = n.stages[si];
    const FuncChoice &c = s_.choice(node);
    const StageChoice &sc = c.stages[si];
    const Realization &r = realization(node);
    const LoopNest &nest = r.nests[si];
    const std::vector<Span> &box = r.boxes[si];
    StageFeatures f{};
    for (int k = 0; k < NumOpKinds; k++)
        f[F_op_fadd + k] = (float)st.ops[k];
    f[F_bytes_per_point] = (float)n.bytes;
    f[F_native_lanes] = (float)st.vector_lanes;
    f[F_is_update] = si > 0;
    int num_rvars = 0;
    for (const auto &l : st.loops)
        num_rvars += l.rvar;
    f[F_num_rvars] = (float)num_rvars;
    double root_points = (double)region_points(st.loop_box(n.root));
    f[F_root_points] = (float)root_points;
    f[F_num_producers] = (float)st.loads.size();

    f[F_computed_at] = c.placement == Placement::At;
    double ppr = (double)region_points(box);
    double total = ppr * r.count;
    // Sliding window: with storage hoisted, a point is computed once per allocation.
    double sliding_total =
        r.alloc_count * r.alloc_points * (ppr / std::max(1.0, (double)region_points(r.region)));
    double savings = 0;
    if (c.placement == Placement::At && c.store_loop > c.at_loop && sliding_total < total) {
        savings = 1 - sliding_total / total;
        total = sliding_total;
    }
    f[F_realizations] = (float)r.count;
    f[F_points_per_realization] = (float)ppr;
    f[F_points_total] = (float)total;
    f[F_redundancy] = (float)(total / std::max(1.0, root_points));
    f[F_sliding_window_savings] = (float)savings;
    OpCounts ops;
    const std::vector<EffectiveLoad> &loads = effective_loads(st, &ops);
    double opp = 0;
    for (int k = 0; k < NumOpKinds; k++)
        opp += (k == OpLoad) ? 0 : ops[k];
    f[F_ops_per_point] = (float)opp;
    f[F_inlined_math_ops] = (float)ops[OpMath];
    f[F_inlined_div_ops] = (float)(ops[OpFDiv] + ops[OpIDiv]);
    f[F_fused_multiply_adds] = (float)std::min(ops[OpFAdd], ops[OpFMul]);

    // Vectorisation.
    double util = 1;
    if (sc.vector_var >= 0) {
        int64_t e = std::max<int64_t>(1, box[sc.vector_var].extent());
        int64_t padded = (e + sc.vector_width - 1) / sc.vector_width * sc.vector_width;
        util = (double)e / (double)padded;
    }
    f[F_vector_width] = (float)std::max(1, sc.vector_width);
    f[F_vector_utilization] = (float)util;

    // Parallelism.
    double tasks = 1, launches = 0;
    for (size_t i = 0; i < nest.loops.size(); i++) {
        if (nest.loops[i].parallel) {
            tasks = (double)nest.loops[i].extent;
            launches = r.count * nest.iterations((int)i + 1);
        }
    }
    // A stage inside a consumer's parallel loop runs on all cores too.
    bool inside_parallel = false;
    for (const FuncChoice *cc = &c; cc->placement == Placement::At;) {
        const Realization &cr = realization(cc->at_node);
        for (int i = cc->at_loop; i < (int)cr.nests[0].loops.size(); i++) {
            inside_parallel |= cr.nests[0].loops[i].parallel;
        }
        cc = &s_.choice(cc->at_node);
    }
    if (inside_parallel) {
        tasks = std::max(tasks, r.count);
        launches = 0;
    }
    double P = m_.parallelism;
    double eff = tasks <= 1 ? 1.0 / P : tasks / (std::ceil(tasks / P) * P);
    f[F_parallel_tasks] = (float)tasks;
    f[F_parallel_efficiency] = (float)eff;
    f[F_parallel_launches] = (float)launches;

    // Loop overhead and unrolling.
    double iters = 0, unrolled = 1;
    for (size_t i = 0; i < nest.loops.size(); i++) {
        const LoopInfo &l = nest.loops[i];
        if (l.vectorized) continue;
        if (l.unrolled) {
            unrolled *= (double)l.extent;
            continue;
        }
        iters += nest.iterations((int)i) * r.count;
    }
    f[F_loop_iterations_total] = (float)iters;
    f[F_unrolled_body] = (float)unrolled;

    // The innermost loop of an unvectorised stage, when LLVM's loop vectoriser may vectorise it
    // itself: one along the storage's dense dimension, or an update's RVar its stores do not move
    // with (a reduction into one accumulator).
    int scalar_inner_var = -1, reduction_var = -1;
    if (sc.vector_var < 0 && !nest.loops.empty() && nest.loops[0].vars.size() == 1) {
        const int k = nest.loops[0].vars[0];
        const LoopVar &lv = st.loops[k];
        if (!lv.rvar && lv.pure_dim == 0) scalar_inner_var = k;
        if (si > 0 && lv.rvar && !lv.in_store_index) reduction_var = k;
    }
    const int llvm_vector_var = scalar_inner_var >= 0 ? scalar_inner_var : reduction_var;
    // Loads by kind, per point.
    double dense = 0, strided = 0, bcast = 0, scalar = 0, short_stride = 0, gather = 0, irregular = 0;
    double llvm_gather = 0;   // loads LLVM would gather along llvm_vector_var
    double clamped_lanes = 0; // dense vector loads whose lanes pass through a clamp
    for (const auto &l : loads) {
        // A load that does not move with an unrolled inner loop is issued once for all of its
        // iterations (register blocking reuses it).
        double reuse = 1;
        for (const auto &lp : nest.loops) {
            if (lp.kind == LoopInfo::Inner && lp.unrolled && !l.chain.front()->depends_on_loop(lp.vars[0])) {
                reuse *= (double)lp.extent;
            }
        }
        const double calls = l.calls / reuse;
        bool affine = true;
        for (const AccessMap *am : l.chain) {
            for (const auto *bounds : {&am->min, &am->max}) {
                for (const AffineBound &b : *bounds)
                    affine = affine && b.affine;
            }
        }
        // A lookup (an index computed from loaded data: a histogram's bin, a table's entry)
        // loads one element per lane, whatever the bounds of its index say, unless the data it
        // is indexed by is the same in every lane: its index does not use the lanes' loop (or,
        // through inlined Funcs, their innermost dimension), or the chain before it does not
        // move with them.
        const int lane_var = sc.vector_var >= 0 ? sc.vector_var : llvm_vector_var;
        bool lookup = false, moves = true;
        for (size_t i = 0; lane_var >= 0 && i < l.chain.size() && moves && !lookup; i++) {
            const int k = i == 0 ? lane_var : 0;
            lookup = l.chain[i]->lookup_moves_with(k);
            moves = l.chain[i]->stride_of_loop(k) != 0;
        }
        if (!affine || lookup) irregular += calls;
        if (sc.vector_var < 0) {
            scalar += calls;
            // Elements not adjacent along the loop LLVM would vectorise (NaN: irregular): its
            // loop vectoriser gathers them lane by lane, even 2 apart. (Measured here: a scalar
            // reduction over 64 inputs, weights 2, 4, 8 or 64 apart along it, ran 0.53-0.71 ns
            // per point, as scalar; adjacent weights 0.04-0.12.)
            if (llvm_vector_var >= 0) {
                const double apart = std::fabs(element_stride(l, llvm_vector_var));
                if (lookup || !(apart == 0 || apart == 1)) llvm_gather += calls;
            }
            continue;
        }
        if (lookup) {
            strided += calls;
            gather += calls;
            continue;
        }
        double stride = l.chain.front()->stride_of_loop(sc.vector_var);
        for (size_t i = 1; i < l.chain.size() && !std::isnan(stride); i++)
            stride *= l.chain[i]->stride_of_loop(0);
        if (stride == 0)
            bcast += calls;
        else if (stride == 1)
            dense += calls;
        else
            strided += calls;
        if (stride == 1 && clamp_exposure(l, sc.vector_var).through_clamp) clamped_lanes += calls;
        if (stride != 0 && stride != 1) {
            const double lanes_apart = std::fabs(element_stride(l, sc.vector_var));
            (lanes_apart <= 8 ? short_stride : gather) += calls; // NaN: a gather
        }
    }
    f[F_short_stride_loads] = (float)short_stride;
    f[F_gather_loads] = (float)gather;
    f[F_irregular_loads] = (float)irregular;
    // The stage's own stores: lanes apart in its storage.
    f[F_store_stride] = sc.vector_var >= 0 ? (float)own_storage_stride(node, si, sc.vector_var) : 0.0f;
    // Tiles that do not divide their extents compute the remainder of the last tile as well.
    double padding = 1;
    for (size_t k = 0; sc.scheduled && k < st.loops.size(); k++) {
        if (st.loops[k].rvar) continue;
        const double e = (double)std::max<int64_t>(1, box[k].extent());
        const double t = std::min(e, (double)std::max<int64_t>(1, sc.tile[k]));
        padding *= std::ceil(e / t) * t / e;
    }
    f[F_tile_padding] = (float)padding;
    f[F_scalar_dense_inner_extent] = scalar_inner_var >= 0 ? (float)nest.loops[0].extent : 0.0f;
    f[F_scalar_inner_gather_loads] = scalar_inner_var >= 0 ? (float)llvm_gather : 0.0f;
    f[F_inner_reduction_extent] = reduction_var >= 0 ? (float)nest.loops[0].extent : 0.0f;
    f[F_inner_reduction_gather_loads] = reduction_var >= 0 ? (float)llvm_gather : 0.0f;
    f[F_dense_vector_loads] = (float)dense;
    f[F_strided_loads] = (float)strided;
    f[F_broadcast_loads] = (float)bcast;
    f[F_scalar_loads] = (float)scalar;

    // Memory traffic: for each cache size, the outermost loop level whose working set fits
    // reloads it once per iteration; producers that are not resident add compulsory traffic.
    const int L = (int)nest.loops.size();
    std::vector<Level> lv = levels(node, si);
    const int NL = (int)lv.size();
    // Clamped vector lanes (layout 6): Halide loads them as a gather (a clamped ramp) wherever
    // loop partitioning has not proven the clamp away: in the border iterations of the loops
    // around clamps that cut. (The loop over the lanes' dimension that lifts the clamp from the
    // steady state is there even when it runs once: extents are known only at run time.)
    const double border = border_fraction(node, si, loads, lv);
    f[F_clamped_lane_loads] = (float)clamped_lanes;
    f[F_border_fraction] = (float)border;
    f[F_border_gather_loads] = (float)(clamped_lanes * border);
    auto resident_bytes = [&](int p) {
        const Node &pn = g_.node(p);
        if (pn.is_input) return (double)region_points(pn.root) * pn.bytes;
        return realization(p).alloc_points * pn.bytes;
    };
    // For each load, the loop of this stage's nest its producer is computed inside (or NL).
    std::vector<int> produced_inside(loads.size(), NL);
    for (size_t j = 0; j < loads.size(); j++) {
        const Node &pn = g_.node(loads[j].producer);
        if (!pn.is_input && si == 0) {
            int lvl = s_.level_within(loads[j].producer, node);
            if (lvl >= 0) produced_inside[j] = lvl;
        }
    }
    // Working sets per level, two ways: in the elements of the regions read (the older
    // entries), and in whole lines, plus what those lines occupy of L1 and of L2 once lines
    // crowding a few sets count (RegionLines; the line_bytes entries).
    std::vector<double> ws(NL, 0), ws_lines(NL, 0), ws_l1(NL, 0), ws_l2(NL, 0);
    std::vector<std::vector<double>> per_producer(NL), per_producer_lines(NL);
    const int l1_sets = (int)(kL1Bytes / kLineBytes / kL1Ways),
              l2_sets = (int)(kL2Bytes / kLineBytes / kL2Ways);
    for (int lev = 0; lev < NL; lev++) {
        const std::vector<Span> &b = lv[lev].box;
        double out_pts = 1;
        for (size_t k = 0; k < b.size(); k++)
            out_pts *= st.loops[k].rvar ? 1 : (double)b[k].extent();
        ws[lev] = ws_lines[lev] = ws_l1[lev] = ws_l2[lev] = out_pts * n.bytes;
        per_producer[lev].reserve(loads.size());
        per_producer_lines[lev].reserve(loads.size());
        for (size_t j = 0; j < loads.size(); j++) {
            const auto &l = loads[j];
            const Node &pn = g_.node(l.producer);
            const Region reg = apply_chain(l, b);
            double bytes = (double)region_points(reg) * pn.bytes;
            const RegionLines rl(reg, pn.root, pn.bytes);
            double lines = rl.lines() * kLineBytes;
            double in_l1 = rl.occupied(l1_sets, kL1Ways) * kLineBytes;
            double in_l2 = rl.occupied(l2_sets, kL2Ways) * kLineBytes;
            // A producer computed inside this stage's loops only ever occupies its buffer.
            if (lev > produced_inside[j]) {
                const double cap = resident_bytes(l.producer);
                bytes = std::min(bytes, cap);
                lines = std::min(lines, cap);
                in_l1 = std::min(in_l1, cap);
                in_l2 = std::min(in_l2, cap);
            }
            per_producer[lev].push_back(bytes);
            per_producer_lines[lev].push_back(lines);
            ws[lev] += bytes;
            ws_lines[lev] += lines;
            ws_l1[lev] += in_l1;
            ws_l2[lev] += in_l2;
        }
    }
    // Bytes through a cache of the given size: the outermost level whose working set fits is
    // reloaded once per iteration; producers too big to stay resident are read at least once.
    // The stage's own output is written once per realization (an update's accumulators are
    // reused across its RVar loops), so only the loads scale with the level's iterations.
    const double out_bytes = ws[L] - std::accumulate(per_producer[L].begin(), per_producer[L].end(), 0.0);
    // What stays resident from the stage (or run) before when everything fits: the producers'
    // buffers and this stage's own, together, and what the Funcs computed inside this stage's
    // loops read from outside them (an input streamed through a producer computed per tile
    // passes through the cache while this stage runs, though the stage never loads it).
    double together = (double)region_points(n.root) * n.bytes;
    for (const auto &l : loads)
        together += resident_bytes(l.producer);
    std::set<int> inside, outside;
    for (std::vector<int> work = computed_here()[node]; !work.empty();) {
        const int h = work.back();
        work.pop_back();
        inside.insert(h);
        work.insert(work.end(), computed_here()[h].begin(), computed_here()[h].end());
    }
    for (int h : inside)
        for (const Stage &hs : g_.node(h).stages)
            for (const auto &hl : effective_loads(hs, nullptr))
                if (hl.producer != node && !inside.count(hl.producer)) outside.insert(hl.producer);
    double streamed = 0;
    for (int p : outside) {
        const bool read =
            std::any_of(loads.begin(), loads.end(), [&](const EffectiveLoad &l) { return l.producer == p; });
        if (!read) streamed += resident_bytes(p);
    }
    together += streamed;
    // `per` and `fits`: the element or the line accounting. With `reuse_bound` (lines), each
    // iteration of that level reloads its lines except those the iteration before it left (it
    // fits): at most every line of the enclosing level's box once per iteration of that one (a
    // walk along lines loads each once, a walk across them one per point).
    auto traffic = [&](double cache, const std::vector<std::vector<double>> &per,
                       const std::vector<double> &fits, bool reuse_bound) {
        int lev = 0;
        while (lev + 1 < NL && fits[lev + 1] <= cache)
            lev++;
        const bool all_resident = lev + 1 == NL && together <= cache;
        double t = 0;
        if (!all_resident && !reuse_bound) {
            t = std::accumulate(per[lev].begin(), per[lev].end(), 0.0) * lv[lev].iterations;
        } else if (!all_resident) {
            for (size_t j = 0; j < loads.size(); j++) {
                double reload = per[lev][j] * lv[lev].iterations;
                if (lev + 1 < NL) reload = std::min(reload, per[lev + 1][j] * lv[lev + 1].iterations);
                t += reload;
            }
        }
        if (ws[L] + streamed > cache) t += out_bytes * r.count;
        double compulsory = 0;
        for (size_t j = 0; j < loads.size(); j++) {
            if (resident_bytes(loads[j].producer) > cache) compulsory += per[L][j] * r.count;
        }
        return std::max(t, compulsory);
    };
    // Caches are never fully usable (associativity, other data): fit against half of each.
    double conflict_accumulator_lines = 0;
    const double conflicts = set_conflict_bytes(node, si, loads, &conflict_accumulator_lines);
    f[F_bytes_from_l2_total] = (float)(traffic(0.5 * kL1Bytes, per_producer, ws, false) + conflicts);
    f[F_bytes_from_llc_total] = (float)traffic(0.5 * kL2Bytes, per_producer, ws, false);
    f[F_bytes_from_dram_total] = (float)traffic(0.5 * m_.llc_bytes, per_producer, ws, false);
    f[F_line_bytes_from_l2_total] =
        (float)(traffic(0.5 * kL1Bytes, per_producer_lines, ws_l1, true) + conflicts);
    f[F_line_bytes_from_llc_total] = (float)traffic(0.5 * kL2Bytes, per_producer_lines, ws_l2, true);
    f[F_line_bytes_from_dram_total] = (float)traffic(0.5 * m_.llc_bytes, per_producer_lines, ws_lines, true);
    f[F_accumulator_conflict_lines_total] = (float)conflict_accumulator_lines;
    double alloc_bytes = r.alloc_points * n.bytes;
    f[F_store_bytes_total] = (float)(alloc_bytes > 0.5 * m_.llc_bytes ? total * n.bytes : 0);
    f[F_allocation_bytes] = (float)alloc_bytes;
    f[F_heap_allocations_total] = si == 0 ? (float)r.heap_allocations : 0.0f;
    f[F_innermost_working_set] = (float)ws[std::min(L, 1)];
    // Accumulators: for updates, the vectors live across the RVar loops.
    double acc = 0;
    if (si > 0 && sc.scheduled) {
        acc = 1;
        for (const auto &l : nest.loops) {
            if (l.kind == LoopInfo::Inner) acc *= (double)l.extent;
        }
    }
    f[F_accumulator_registers] = (float)acc;
    double chain = 0;
    for (const auto &l : nest.loops) {
        if (si > 0 && l.kind == LoopInfo::RVar) chain = std::max(1.0, chain) * (double)l.extent;
    }
    f[F_reduction_chain_steps] = (float)chain;
    // Register residency of an update's accumulators: the realization is one constant tile
    // (no outer loops, no tails) fully unrolled around the vector, under a compute_at. A
    // dimension split into that tile must have an extent Halide knows when it compiles
    // (Realization::fixed): where it is sized at run time (moving with a clamp or a division),
    // Halide guards each unrolled point and the vector of an update with an if (GuardWithIf),
    // and the accumulators live in memory behind those branches.
    bool resident = si > 0 && sc.scheduled && c.placement == Placement::At && sc.vector_var >= 0;
    for (size_t i = 0; resident && i < nest.loops.size(); i++) {
        const LoopInfo &l = nest.loops[i];
        if (l.kind == LoopInfo::Outer && l.extent > 1) resident = false;
        if (l.kind == LoopInfo::Inner && !l.unrolled) resident = false;
    }
    for (size_t k = 0; resident && k < st.loops.size(); k++) {
        if (st.loops[k].rvar) continue;
        if (sc.tile[k] != std::max<int64_t>(1, box[k].extent())) resident = false;
        const int d = st.loops[k].pure_dim;
        if (sc.tile[k] > 1 && (d < 0 || d >= (int)r.fixed.size() || !r.fixed[d])) resident = false;
    }
    f[F_accumulator_memory_ops] = (si > 0 && !resident) ? 2.0f : 0.0f;
    // Store instructions into lines a neighbouring parallel task writes too (layout 7): one per
    // vector (per lane when scattered), an update's on every step unless its accumulators stay
    // in registers (then once per accumulator).
    const double sharing = shared_line_fraction(node, si);
    if (sharing > 0) {
        double stores = total / ((sc.vector_var >= 0 && f[F_store_stride] <= 1) ? f[F_vector_width] : 1.0f);
        if (si > 0 && resident) {
            for (size_t k = 0; k < st.loops.size(); k++) {
                if (st.loops[k].rvar) stores /= (double)std::max<int64_t>(1, box[k].extent());
            }
        }
        f[F_shared_line_stores_total] = (float)(sharing * stores);
    }
    double inner_pts = 1;
    for (const auto &l : nest.loops) {
        if (l.kind == LoopInfo::Vector || l.kind == LoopInfo::Inner) inner_pts *= (double)l.extent;
    }
    f[F_inner_tile_points] = (float)inner_pts;
    f[F_producers_computed_here] = (float)computed_here()[node].size();
    f[F_working_set_per_task] = (float)(ws[L] * r.count / std::max(1.0, tasks));
    return f;
}

const std::vector<std::vector<int>> &Featurizer::computed_here() {
    if (computed_here_.empty()) {
        computed_here_.resize(g_.num_nodes());
        for (int i : g_.decision_order()) {
            const FuncChoice &ci = s_.choice(i);
            if (ci.placement == Placement::At) computed_here_.at(ci.at_node).push_back(i);
        }
    }
    return computed_here_;
}

std::vector<StageFeatures> Featurizer::node_features(int node) {
    std::vector<StageFeatures> out;
    if (s_.choice(node).placement == Placement::Inline) return out;
    for (size_t si = 0; si < g_.node(node).stages.size(); si++)
        out.push_back(stage_features(node, (int)si));
    return out;
}

std::vector<StageFeatures> featurize_all(const ScheduleState &s, const MachineInfo &m,
                                         std::vector<int> *stage_nodes, std::vector<int> *stage_indices) {
    Featurizer fz(s, m);
    std::vector<StageFeatures> all;
    for (int node : s.graph().decision_order()) {
        std::vector<StageFeatures> fs = fz.node_features(node);
        for (size_t si = 0; si < fs.size(); si++) {
            all.push_back(fs[si]);
            if (stage_nodes) stage_nodes->push_back(node);
            if (stage_indices) stage_indices->push_back((int)si);
        }
    }
    return all;
}

} // namespace harl
