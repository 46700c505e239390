#include "GpuSearchSpace.h"
#include "../Errors.h"
#include "GpuValidity.h"

#include <algorithm>
#include <set>
#include <tuple>

namespace harl {

namespace {

int64_t pow2_ceil(int64_t v) {
    int64_t p = 1;
    while (p < v)
        p *= 2;
    return p;
}

// A kernel shape over pure dimensions (Func argument indices), instantiated per stage.
struct KernelShape {
    int pure_x = -1, pure_y = -1;
    int64_t tx = 1, ty = 1, rx = 1, ry = 1;
    auto key() const { return std::make_tuple(pure_x, pure_y, tx, ty, rx, ry); }
};

GpuStageChoice instantiate(const Stage &st, const KernelShape &k, GpuStageChoice::Mode mode) {
    GpuStageChoice c;
    if (!gpu_mappable(st)) {
        c.mode = mode == GpuStageChoice::Kernel ? GpuStageChoice::Host : GpuStageChoice::Serial;
        return c;
    }
    c.mode = mode;
    c.dim_x = st.loop_of_pure(k.pure_x);
    c.dim_y = k.pure_y >= 0 ? st.loop_of_pure(k.pure_y) : -1;
    if (c.dim_x < 0) {
        // An update that does not loop over the shape's x (e.g. f(0, y) = ...): its innermost
        // pure loop takes thread x.
        for (int i = 0; i < (int)st.loops.size() && c.dim_x < 0; i++) {
            if (!st.loops[i].rvar && i != c.dim_y) c.dim_x = i;
        }
        if (c.dim_x < 0) std::swap(c.dim_x, c.dim_y);
    }
    HARL_ASSERT(c.dim_x >= 0, st.name << " is mappable but has no pure loop");
    c.threads_x = k.tx;
    c.threads_y = c.dim_y >= 0 ? k.ty : 1;
    if (mode == GpuStageChoice::Kernel) {
        c.per_thread_x = k.rx;
        c.per_thread_y = c.dim_y >= 0 ? k.ry : 1;
    }
    return c;
}

// The pure dims of a Func in storage order (innermost first) with their root extents.
std::vector<std::pair<int, int64_t>> pure_dims(const Node &n) {
    std::vector<std::pair<int, int64_t>> d;
    for (int i = 0; i < n.dims; i++)
        d.emplace_back(i, std::max<int64_t>(1, n.root.at(i).extent()));
    return d;
}

std::vector<KernelShape> kernel_shapes(const Node &n, const TargetModel &tm, GpuInit init, int want,
                                       std::mt19937_64 &rng) {
    const CudaLimits &L = tm.gpu;
    auto dims = pure_dims(n);
    std::vector<KernelShape> shapes;
    if (dims.empty()) return shapes;
    std::vector<int> ys = {-1};
    for (size_t i = 1; i < dims.size() && ys.size() < 3; i++) {
        if (dims[i].second > 1) ys.push_back((int)i);
    }
    const int64_t ext_x = dims[0].second;
    std::set<std::tuple<int, int, int64_t, int64_t, int64_t, int64_t>> seen;
    auto push = [&](const KernelShape &k) {
        if (seen.insert(k.key()).second) shapes.push_back(k);
    };
    if (init == GpuInit::Naive) {
        std::uniform_int_distribution<int> t_pow(0, 10), r_pow(0, 5), y_pick(0, (int)ys.size() - 1);
        for (int i = 0; i < want * 4 && (int)shapes.size() < want; i++) {
            KernelShape k;
            k.pure_x = 0;
            k.pure_y = ys[y_pick(rng)];
            k.tx = int64_t(1) << t_pow(rng);
            k.ty = k.pure_y < 0 ? 1 : int64_t(1) << t_pow(rng);
            k.rx = int64_t(1) << r_pow(rng);
            k.ry = k.pure_y < 0 ? 1 : int64_t(1) << r_pow(rng);
            push(k);
        }
        return shapes;
    }
    // Valid region: thread counts that are warp multiples within the block limit (or the whole
    // extent when it is smaller), thread x a warp multiple where the innermost extent allows,
    // register tiles that fit at that block size.
    const int words = std::max(1, (n.bytes + 3) / 4) * (n.stages.size() > 1 ? 2 : 1);
    for (int y : ys) {
        const int64_t ext_y = y < 0 ? 1 : dims[y].second;
        for (int64_t total : {64, 128, 256, 512, 1024}) {
            if (total > L.max_threads_per_block) continue;
            for (int64_t tx = 1; tx <= total; tx *= 2) {
                int64_t ty = total / tx;
                if (y < 0 && ty > 1) continue;
                if (tx > L.max_block_dim[0] || ty > L.max_block_dim[1]) continue;
                if (tx < std::min<int64_t>(L.warp_size, pow2_ceil(ext_x))) continue; // coalescing
                if (tx > pow2_ceil(ext_x) || ty > pow2_ceil(ext_y)) continue;        // idle threads
                for (int64_t rx : {1, 2, 4, 8}) {
                    for (int64_t ry : {1, 2, 4, 8}) {
                        if (y < 0 && ry > 1) continue;
                        if (tx * rx > pow2_ceil(ext_x) || ty * ry > pow2_ceil(ext_y)) continue;
                        int64_t regs = 16 + rx * ry * words;
                        if (regs > L.max_registers_per_thread || regs * total > L.registers_per_block)
                            continue;
                        push({0, y, tx, ty, rx, ry});
                    }
                }
            }
        }
        // Small extents: one block covering them.
        if (pow2_ceil(ext_x) * pow2_ceil(ext_y) < 64) push({0, y, pow2_ceil(ext_x), pow2_ceil(ext_y), 1, 1});
    }
    std::shuffle(shapes.begin(), shapes.end(), rng);
    if ((int)shapes.size() > want) shapes.resize(want);
    return shapes;
}

} // namespace

std::vector<std::shared_ptr<const GpuFuncChoice>> gpu_candidates(const GpuSchedule &s, int node, GpuInit init,
                                                                 int max_candidates, std::mt19937_64 &rng,
                                                                 GpuSpaceStats *stats) {
    const PipelineGraph &g = s.graph();
    const Node &n = g.node(node);
    std::vector<std::shared_ptr<const GpuFuncChoice>> proposals;
    if (n.can_inline) {
        auto c = std::make_shared<GpuFuncChoice>();
        c->placement = GpuPlacement::Inline;
        c->stages.resize(n.stages.size());
        proposals.push_back(c);
    }
    // Per block or per thread of the single consumer's kernel.
    if (n.consumers.size() == 1 && s.decided(n.consumers[0])) {
        int cn = n.consumers[0];
        const GpuFuncChoice &cc = s.choice(cn);
        int loading = -1, count = 0;
        for (const auto &st : g.node(cn).stages) {
            for (const auto &am : st.loads) {
                if (am.producer == node) loading = st.index, count++;
            }
        }
        bool all_mappable = true;
        for (const auto &st : n.stages)
            all_mappable = all_mappable && gpu_mappable(st);
        // Only the last stage's loops are offered: Halide 14 rejects compute_at a loop of an
        // earlier stage of a multi-stage consumer.
        const bool last = loading + 1 == (int)g.node(cn).stages.size();
        if (cc.placement == GpuPlacement::Root && count == 1 && last &&
            cc.stages[loading].mode == GpuStageChoice::Kernel) {
            const GpuStageChoice &k = cc.stages[loading];
            if (all_mappable) {
                KernelShape ks;
                ks.pure_x = 0;
                ks.pure_y = n.dims > 1 ? 1 : -1;
                ks.tx = k.threads_x;
                ks.ty = k.threads_y;
                auto c = std::make_shared<GpuFuncChoice>();
                c->placement = GpuPlacement::Shared;
                c->at_node = cn, c->at_stage = loading;
                for (const auto &st : n.stages)
                    c->stages.push_back(instantiate(st, ks, GpuStageChoice::Threads));
                proposals.push_back(c);
            }
            auto r = std::make_shared<GpuFuncChoice>();
            r->placement = GpuPlacement::Register;
            r->at_node = cn, r->at_stage = loading;
            for (size_t i = 0; i < n.stages.size(); i++) {
                GpuStageChoice sc;
                sc.mode = GpuStageChoice::Serial;
                r->stages.push_back(sc);
            }
            proposals.push_back(r);
        }
    }
    for (const KernelShape &k : kernel_shapes(n, s.target(), init, max_candidates, rng)) {
        auto c = std::make_shared<GpuFuncChoice>();
        c->placement = GpuPlacement::Root;
        for (const auto &st : n.stages)
            c->stages.push_back(instantiate(st, k, GpuStageChoice::Kernel));
        proposals.push_back(c);
    }
    std::vector<std::shared_ptr<const GpuFuncChoice>> valid;
    for (auto &p : proposals) {
        if (stats) stats->proposed++;
        if (!decision_violation(s.with(node, p), node).empty()) {
            if (stats) stats->invalid++;
            continue;
        }
        valid.push_back(std::move(p));
    }
    if (valid.empty()) {
        // Nothing launchable was proposed (e.g. a scalar Func): run its stages on the host.
        auto c = std::make_shared<GpuFuncChoice>();
        c->placement = GpuPlacement::Root;
        c->stages.resize(n.stages.size());
        for (auto &sc : c->stages)
            sc.mode = GpuStageChoice::Host;
        valid.push_back(c);
    }
    return valid;
}

} // namespace harl
