#include "GpuEmitter.h"
#include "../Errors.h"

namespace harl {

namespace {

struct StageEmitter {
    const Node &n;
    int node, si;
    std::vector<Directive> *out;
    void add(Directive d) {
        d.node = node;
        d.stage = si;
        out->push_back(std::move(d));
    }
};

// Names of the loops a stage choice creates.
std::string outer_name(const LoopVar &lv) {
    return lv.name + "_o";
}
std::string thread_name(const LoopVar &lv) {
    return lv.name + "_t";
}

void emit_stage(const Node &n, int node, int si, const GpuStageChoice &c, std::vector<Directive> *out) {
    if (c.mode == GpuStageChoice::Host || c.mode == GpuStageChoice::Serial) return;
    const Stage &st = n.stages[si];
    StageEmitter e{n, node, si, out};
    // Every split guards its tail: a block tile may be larger than the whole extent, which
    // shifting inwards (Halide's default for outputs) would turn into reads before the inputs.
    const bool guard = true;
    const bool kernel = c.mode == GpuStageChoice::Kernel;
    std::vector<std::string> inner, threads, blocks;
    auto map_dim = [&](int k, int64_t t, int64_t r) {
        const LoopVar &lv = st.loops[k];
        if (r > 1) {
            std::string mid = lv.name + "_i", reg = lv.name + "_r";
            e.add(Directive(Directive::Split, {lv.name, outer_name(lv), mid}, t * r, guard));
            e.add(Directive(Directive::Split, {mid, reg, thread_name(lv)}, t, false));
            inner.push_back(reg);
        } else {
            e.add(Directive(Directive::Split, {lv.name, outer_name(lv), thread_name(lv)}, t, guard));
        }
        threads.push_back(thread_name(lv));
        blocks.push_back(outer_name(lv));
    };
    map_dim(c.dim_x, c.threads_x, kernel ? c.per_thread_x : 1);
    if (c.dim_y >= 0) map_dim(c.dim_y, c.threads_y, kernel ? c.per_thread_y : 1);
    Directive re(Directive::Reorder);
    auto put = [&](const std::string &v, bool rvar) {
        re.vars.push_back(v);
        re.rvar.push_back(rvar);
    };
    for (const auto &v : inner)
        put(v, false);
    for (const auto &lv : st.loops) {
        if (lv.rvar) put(lv.schedule_name(), true);
    }
    for (const auto &v : threads)
        put(v, false);
    for (const auto &v : blocks)
        put(v, false);
    std::vector<std::string> others;
    for (int k = 0; k < (int)st.loops.size(); k++) {
        if (!st.loops[k].rvar && k != c.dim_x && k != c.dim_y) others.push_back(st.loops[k].name);
    }
    for (const auto &v : others)
        put(v, false);
    e.add(re);
    if (kernel) {
        // Every other pure var becomes the z dimension of the grid.
        if (!others.empty()) {
            std::string z = others[0];
            for (size_t i = 1; i < others.size(); i++) {
                std::string fused = z + "_" + others[i];
                e.add(Directive(Directive::Fuse, {z, others[i], fused}));
                z = fused;
            }
            blocks.push_back(z);
        }
        e.add(Directive(Directive::GpuBlocks, blocks));
        for (const auto &v : inner)
            e.add(Directive(Directive::Unroll, {v}));
    }
    e.add(Directive(Directive::GpuThreads, threads));
}

} // namespace

std::vector<Directive> make_gpu_directives(const GpuSchedule &s) {
    HARL_ASSERT(s.complete(), "emitting an incomplete GPU schedule");
    const PipelineGraph &g = s.graph();
    std::vector<Directive> out;
    for (int node = 0; node < g.num_nodes(); node++) {
        const Node &n = g.node(node);
        if (n.is_input) continue;
        const GpuFuncChoice &c = s.choice(node);
        if (c.placement == GpuPlacement::Inline) continue;
        if (c.placement == GpuPlacement::Root) {
            Directive d(Directive::ComputeRoot);
            d.node = node;
            out.push_back(d);
        } else {
            const Node &cn = g.node(c.at_node);
            const GpuStageChoice &ck = s.choice(c.at_node).stages.at(c.at_stage);
            HARL_ASSERT(ck.mode == GpuStageChoice::Kernel, n.name << " is placed in "
                                                                  << cn.stages[c.at_stage].name
                                                                  << ", which is not a kernel");
            const LoopVar &lv = cn.stages[c.at_stage].loops.at(ck.dim_x);
            // Shared: the innermost block loop; registers: the innermost thread loop.
            Directive d(Directive::ComputeAt,
                        {c.placement == GpuPlacement::Shared ? outer_name(lv) : thread_name(lv)});
            d.node = node;
            d.target_node = c.at_node;
            HARL_ASSERT(c.at_stage + 1 == (int)cn.stages.size(), n.name << " is placed in a loop of "
                                                                        << cn.stages[c.at_stage].name
                                                                        << ", not the last stage");
            out.push_back(d);
        }
        for (size_t si = 0; si < n.stages.size(); si++)
            emit_stage(n, node, (int)si, c.stages[si], &out);
    }
    mark_unscheduled_updates(g, &out);
    return out;
}

} // namespace harl
