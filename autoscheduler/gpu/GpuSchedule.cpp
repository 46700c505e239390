#include "GpuSchedule.h"
#include "../Errors.h"

#include <algorithm>
#include <sstream>

namespace harl {

bool gpu_mappable(const Stage &st) {
    if (!st.tileable()) return false;
    for (const auto &l : st.loops) {
        if (!l.rvar) return true;
    }
    return false;
}

namespace {
int64_t ext_of(const std::vector<Span> &box, int k) {
    return k < 0 ? 1 : std::max<int64_t>(1, box[k].extent());
}

int64_t pow2_floor(int64_t v) {
    int64_t p = 1;
    while (p * 2 <= v)
        p *= 2;
    return p;
}
} // namespace

GpuStageChoice default_gpu_stage(const Stage &st, const std::vector<Span> &box, const TargetModel &tm) {
    GpuStageChoice c;
    if (!gpu_mappable(st)) {
        c.mode = GpuStageChoice::Host;
        return c;
    }
    for (int k = 0; k < (int)st.loops.size(); k++) {
        if (st.loops[k].rvar) continue;
        if (c.dim_x < 0) {
            c.dim_x = k;
        } else if (c.dim_y < 0 && ext_of(box, k) > 1) {
            c.dim_y = k;
        }
    }
    // 256 threads, as square as the extents allow, x first.
    c.threads_x =
        std::min<int64_t>(std::min<int64_t>(64, tm.gpu.max_block_dim[0]), pow2_floor(ext_of(box, c.dim_x)));
    c.threads_y = c.dim_y < 0 ? 1 : std::min<int64_t>(256 / c.threads_x, pow2_floor(ext_of(box, c.dim_y)));
    c.threads_y =
        std::max<int64_t>(1, std::min<int64_t>(c.threads_y, tm.gpu.max_threads_per_block / c.threads_x));
    return c;
}

std::vector<Span> gpu_tile_box(const Stage &st, const GpuStageChoice &c, const std::vector<Span> &box,
                               bool per_thread) {
    std::vector<Span> t = box;
    for (int k = 0; k < (int)st.loops.size(); k++) {
        if (st.loops[k].rvar) continue;
        int64_t n = 1;
        if (k == c.dim_x) n = per_thread ? c.per_thread_x : c.threads_x * c.per_thread_x;
        if (k == c.dim_y) n = per_thread ? c.per_thread_y : c.threads_y * c.per_thread_y;
        n = std::min(n, std::max<int64_t>(1, box[k].extent()));
        t[k] = {box[k].min, box[k].min + n - 1};
    }
    return t;
}

std::array<int64_t, 3> gpu_grid(const Stage &st, const GpuStageChoice &c, const std::vector<Span> &box) {
    std::array<int64_t, 3> g{1, 1, 1};
    for (int k = 0; k < (int)st.loops.size(); k++) {
        if (st.loops[k].rvar) continue;
        int64_t e = std::max<int64_t>(1, box[k].extent());
        if (k == c.dim_x) {
            g[0] = (e + c.threads_x * c.per_thread_x - 1) / (c.threads_x * c.per_thread_x);
        } else if (k == c.dim_y) {
            g[1] = (e + c.threads_y * c.per_thread_y - 1) / (c.threads_y * c.per_thread_y);
        } else {
            g[2] *= e;
        }
    }
    return g;
}

Region gpu_footprint(const PipelineGraph &g, const Stage &st, int producer, const std::vector<Span> &box) {
    for (const auto &am : st.loads) {
        if (am.producer == producer) return am.apply(box, g.node(producer).root);
    }
    return {};
}

GpuSchedule::GpuSchedule(const PipelineGraph &g, const TargetModel &tm)
    : graph_(&g), tm_(&tm), choices_(g.num_nodes()) {
    HARL_ASSERT(tm.is_gpu(), "GpuSchedule for the CPU target " << tm.target);
    auto defaults = std::make_shared<std::vector<std::shared_ptr<const GpuFuncChoice>>>(g.num_nodes());
    for (int n : g.decision_order()) {
        const Node &node = g.node(n);
        auto c = std::make_shared<GpuFuncChoice>();
        c->placement = GpuPlacement::Root;
        for (const auto &st : node.stages)
            c->stages.push_back(default_gpu_stage(st, st.loop_box(node.root), tm));
        (*defaults)[n] = std::move(c);
    }
    defaults_ = std::move(defaults);
}

const GpuFuncChoice &GpuSchedule::choice(int node) const {
    const auto &c = choices_.at(node) ? choices_[node] : defaults_->at(node);
    HARL_ASSERT(c, "no GPU choice for node " << graph_->node(node).name);
    return *c;
}

GpuSchedule GpuSchedule::with(int node, std::shared_ptr<const GpuFuncChoice> c) const {
    HARL_ASSERT(node == next_node(), "deciding " << graph_->node(node).name << " out of order");
    HARL_ASSERT(c && c->stages.size() == graph_->node(node).stages.size(),
                "GPU choice for " << graph_->node(node).name << " has the wrong number of stages");
    GpuSchedule s = *this;
    s.choices_[node] = std::move(c);
    s.num_decided_++;
    return s;
}

std::string GpuSchedule::describe() const {
    std::ostringstream os;
    static const char *modes[] = {"kernel", "threads", "serial", "host"};
    for (int n : graph_->decision_order()) {
        const Node &node = graph_->node(n);
        const GpuFuncChoice &c = choice(n);
        os << node.name << ": ";
        switch (c.placement) {
        case GpuPlacement::Inline:
            os << "inline\n";
            continue;
        case GpuPlacement::Root:
            os << "root";
            break;
        case GpuPlacement::Shared:
            os << "shared memory per block of " << graph_->node(c.at_node).name;
            break;
        case GpuPlacement::Register:
            os << "registers per thread of " << graph_->node(c.at_node).name;
            break;
        }
        for (size_t si = 0; si < c.stages.size(); si++) {
            const GpuStageChoice &s = c.stages[si];
            const Stage &st = node.stages[si];
            os << (si ? "; " : " [") << modes[s.mode];
            if (s.mode == GpuStageChoice::Kernel || s.mode == GpuStageChoice::Threads) {
                os << " " << st.loops[s.dim_x].name << ":" << s.threads_x << "x" << s.per_thread_x;
                if (s.dim_y >= 0)
                    os << " " << st.loops[s.dim_y].name << ":" << s.threads_y << "x" << s.per_thread_y;
            }
        }
        os << "]\n";
    }
    return os.str();
}

} // namespace harl
