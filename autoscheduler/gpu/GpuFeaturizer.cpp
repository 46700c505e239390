#include "GpuFeaturizer.h"
#include "../Errors.h"
#include "GpuValidity.h"

#include <algorithm>
#include <cmath>

namespace harl {

namespace {

double box_points(const std::vector<Span> &box) {
    double p = 1;
    for (const auto &s : box)
        p *= (double)std::max<int64_t>(1, s.extent());
    return p;
}

double pure_points(const Stage &st, const std::vector<Span> &box) {
    double p = 1;
    for (size_t k = 0; k < st.loops.size(); k++) {
        if (!st.loops[k].rvar) p *= (double)std::max<int64_t>(1, box[k].extent());
    }
    return p;
}

// A load of a non-inlined producer, after looking through inlined Funcs.
struct GpuLoad {
    int producer;
    double calls;
    const AccessMap *direct; // the stage's own access map (of the inlined Func it goes through)
};

void collect_loads(const GpuSchedule &s, const Stage &st, double mult, const AccessMap *via, OpCounts *ops,
                   std::vector<GpuLoad> *out) {
    for (const auto &am : st.loads) {
        const Node &p = s.graph().node(am.producer);
        double calls = mult * am.calls;
        if (!p.is_input && s.choice(am.producer).placement == GpuPlacement::Inline) {
            const Stage &ps = p.stages.at(0);
            for (int k = 0; k < NumOpKinds; k++)
                (*ops)[k] += calls * ps.ops[k];
            collect_loads(s, ps, calls, via ? via : &am, ops, out);
        } else {
            out->push_back({am.producer, calls, via ? via : &am});
        }
    }
}

// Bytes a warp moves through L1/L2 per point for a load: dense loads use every byte of a
// sector, strided ones waste the gaps, broadcasts are one transaction per warp.
double moved_bytes_per_point(const GpuLoad &l, int dim_x, int bytes) {
    if (!l.direct || dim_x < 0) return std::min(32.0, 2.0 * bytes);
    double stride = l.direct->stride_of_loop(dim_x);
    if (std::isnan(stride)) return std::min(32.0, 4.0 * bytes);
    stride = std::fabs(stride);
    if (stride == 0) return bytes / 32.0;
    return std::min(32.0, stride * bytes);
}

struct KernelContext {
    double blocks = 1, threads = 1, occupancy = 1, waves = 1, warp_util = 1;
    double shared_per_block = 0, regs = 0;
};

KernelContext kernel_context(const GpuSchedule &s, int node, int stage) {
    const CudaLimits &L = s.target().gpu;
    KernelResources r = kernel_resources(s, node, stage);
    KernelContext k;
    k.blocks = (double)r.grid[0] * r.grid[1] * r.grid[2];
    k.threads = (double)r.threads;
    k.shared_per_block = (double)r.shared_bytes;
    k.regs = (double)r.registers_per_thread;
    double warps = std::ceil(k.threads / L.warp_size);
    k.warp_util = k.threads / (warps * L.warp_size);
    double by_threads = std::floor(L.max_threads_per_sm / (warps * L.warp_size));
    double by_regs = std::floor(L.registers_per_sm / std::max(1.0, k.regs * warps * L.warp_size));
    double by_shared = k.shared_per_block > 0 ? std::floor(L.shared_bytes_per_sm / k.shared_per_block) : 1e9;
    double per_sm = std::max(0.0, std::min({by_threads, by_regs, by_shared, (double)L.max_blocks_per_sm}));
    per_sm = std::max(1.0, per_sm); // validity guarantees one block fits
    double resident = per_sm * L.sm_count;
    k.waves = k.blocks / resident;
    double active_blocks_per_sm = std::min(per_sm, k.blocks / L.sm_count);
    k.occupancy = std::min(1.0, active_blocks_per_sm * warps * L.warp_size / L.max_threads_per_sm);
    return k;
}

StageFeatures base_features(const Stage &st, const Node &n, const OpCounts &ops) {
    StageFeatures f{};
    for (int k = 0; k < NumOpKinds; k++)
        f[G_g_op_fadd + k] = (float)ops[k];
    f[G_g_bytes_per_point] = (float)n.bytes;
    f[G_g_is_update] = st.index > 0 ? 1.f : 0.f;
    int rvars = 0;
    for (const auto &l : st.loops)
        rvars += l.rvar ? 1 : 0;
    f[G_g_num_rvars] = (float)rvars;
    f[G_g_root_points] = (float)box_points(st.loop_box(n.root));
    double total = 0;
    for (int k = 0; k < NumOpKinds; k++)
        total += (k == OpLoad ? 0 : ops[k]);
    f[G_g_ops_per_point] = (float)total;
    return f;
}

} // namespace

Region gpu_region_needed(const GpuSchedule &s, const Stage &st, const std::vector<Span> &box, int producer) {
    Region out;
    for (const auto &am : st.loads) {
        const Node &p = s.graph().node(am.producer);
        if (am.producer == producer) {
            region_union(&out, am.apply(box, p.root));
        } else if (!p.is_input && s.choice(am.producer).placement == GpuPlacement::Inline) {
            Region r = am.apply(box, p.root);
            const Stage &ps = p.stages.at(0);
            Region sub = gpu_region_needed(s, ps, ps.loop_box(r), producer);
            if (!sub.empty()) region_union(&out, sub);
        }
    }
    return out;
}

std::vector<StageFeatures> gpu_node_features(const GpuSchedule &s, int node) {
    const PipelineGraph &g = s.graph();
    const Node &n = g.node(node);
    const GpuFuncChoice &c = s.choice(node);
    std::vector<StageFeatures> out;
    if (c.placement == GpuPlacement::Inline) return out;

    // Where the Func is realized: one region per block or per thread of its consumer, or root.
    Region region = n.root;
    double count = 1;
    KernelContext kc;
    std::vector<Span> consumer_block;
    if (c.placement != GpuPlacement::Root) {
        const Node &cn = g.node(c.at_node);
        const Stage &cst = cn.stages.at(c.at_stage);
        const GpuStageChoice &ck = s.choice(c.at_node).stages.at(c.at_stage);
        std::vector<Span> cbox = cst.loop_box(cn.root);
        kc = kernel_context(s, c.at_node, c.at_stage);
        bool per_thread = c.placement == GpuPlacement::Register;
        region = gpu_region_needed(s, cst, gpu_tile_box(cst, ck, cbox, per_thread), node);
        consumer_block = gpu_tile_box(cst, ck, cbox, false);
        count = per_thread ? pure_points(cst, cbox) / (double)(ck.per_thread_x * ck.per_thread_y) : kc.blocks;
        if (region.empty()) region = n.root;
    }

    for (size_t si = 0; si < n.stages.size(); si++) {
        const Stage &st = n.stages[si];
        const GpuStageChoice &sc = c.stages[si];
        OpCounts ops = st.ops;
        std::vector<GpuLoad> loads;
        collect_loads(s, st, 1.0, nullptr, &ops, &loads);
        StageFeatures f = base_features(st, n, ops);
        std::vector<Span> box = st.loop_box(region);
        double points = box_points(box) * count;
        f[G_g_mode] = (float)sc.mode;
        f[G_g_points_total] = (float)points;
        f[G_g_redundancy] = (float)(points / std::max(1.0, box_points(st.loop_box(n.root))));
        if (sc.mode == GpuStageChoice::Host) {
            f[G_g_host_ops_total] = (float)(points * (f[G_g_ops_per_point] + ops[OpLoad]));
            f[G_g_transfer_bytes] = (float)(2.0 * pure_points(st, st.loop_box(n.root)) * n.bytes);
            out.push_back(f);
            continue;
        }
        if (sc.mode == GpuStageChoice::Kernel) kc = kernel_context(s, node, (int)si);
        f[G_g_threads_per_block] = (float)kc.threads;
        f[G_g_blocks] = (float)kc.blocks;
        f[G_g_warp_utilization] = (float)kc.warp_util;
        f[G_g_occupancy] = (float)kc.occupancy;
        f[G_g_waves] = (float)kc.waves;
        f[G_g_shared_bytes_per_block] = (float)kc.shared_per_block;
        f[G_g_registers_per_thread] = (float)kc.regs;
        double launched = points;
        if (sc.mode == GpuStageChoice::Kernel) {
            double rv = box_points(box) / std::max(1.0, pure_points(st, box));
            launched = kc.blocks * kc.threads * sc.per_thread_x * sc.per_thread_y * rv;
            f[G_g_kernel_launches] = 1;
        }
        f[G_g_thread_utilization] = (float)std::min(1.0, points / std::max(1.0, launched));

        // Loads. Unique bytes from DRAM/L2: the producer's footprint per block (per tile of the
        // consumer for Funcs computed inside one), times the blocks.
        std::vector<Span> tile_box;
        double tiles = 1;
        if (sc.mode == GpuStageChoice::Kernel) {
            tile_box = gpu_tile_box(st, sc, box, false);
            tiles = kc.blocks;
        } else {
            tile_box = box;
            tiles = c.placement == GpuPlacement::Register ? kc.blocks : count;
            if (c.placement == GpuPlacement::Register) {
                // The block's threads share the producer's inputs through L1.
                const Node &cn = g.node(c.at_node);
                Region block_region = gpu_region_needed(s, cn.stages.at(c.at_stage), consumer_block, node);
                if (!block_region.empty()) tile_box = st.loop_box(block_region);
            }
        }
        double global = 0, requests = 0, useful = 0, shared = 0, regs = 0;
        for (const GpuLoad &l : loads) {
            const Node &p = g.node(l.producer);
            GpuPlacement pp = p.is_input ? GpuPlacement::Root : s.choice(l.producer).placement;
            bool here = !p.is_input && s.choice(l.producer).at_node == node &&
                        s.choice(l.producer).at_stage == (int)si;
            if (here && pp == GpuPlacement::Shared) {
                shared += points * l.calls * p.bytes;
            } else if (here && pp == GpuPlacement::Register) {
                regs += points * l.calls;
            } else {
                Region r = gpu_region_needed(s, st, tile_box, l.producer);
                double fp = r.empty() ? (double)region_points(p.root) : (double)region_points(r);
                global += std::min(fp * tiles, points * l.calls) * p.bytes;
                int dx = sc.mode == GpuStageChoice::Serial ? -1 : sc.dim_x;
                requests += points * l.calls * moved_bytes_per_point(l, dx, p.bytes);
                useful += points * l.calls * p.bytes;
            }
        }
        f[G_g_global_bytes_total] = (float)global;
        f[G_g_global_requests_total] = (float)requests;
        f[G_g_coalescing] = (float)(requests > 0 ? std::min(1.0, useful / requests) : 1.0);
        f[G_g_shared_bytes_total] = (float)shared;
        f[G_g_register_loads_total] = (float)regs;
        // Stores: kernels write their values to global memory; updates of a kernel read and
        // write their accumulator per reduction step (through L1); Funcs inside a kernel keep
        // them in shared memory or registers.
        double pp = pure_points(st, box) * count;
        if (c.placement == GpuPlacement::Root) {
            f[G_g_store_bytes_total] = (float)(pp * n.bytes);
            if (st.index > 0) f[G_g_accumulator_bytes_total] = (float)(2.0 * points * n.bytes);
        } else if (c.placement == GpuPlacement::Shared) {
            f[G_g_shared_bytes_total] += (float)(pp * n.bytes);
        }
        out.push_back(f);
    }
    return out;
}

std::vector<StageFeatures> gpu_featurize_all(const GpuSchedule &s, std::vector<int> *nodes,
                                             std::vector<int> *stages) {
    std::vector<StageFeatures> all;
    for (int n : s.graph().decision_order()) {
        auto fs = gpu_node_features(s, n);
        for (size_t i = 0; i < fs.size(); i++) {
            all.push_back(fs[i]);
            if (nodes) nodes->push_back(n);
            if (stages) stages->push_back((int)i);
        }
    }
    return all;
}

} // namespace harl
