#include "PolicyFeatures.h"
#include "../Errors.h"

#include <algorithm>
#include <cmath>

namespace harl {
namespace {

float clampf(double v, double lo, double hi) {
    return (float)std::min(hi, std::max(lo, v));
}

double inner_volume(const FuncChoice &c) {
    double v = 1;
    for (const StageChoice &s : c.stages) {
        for (int64_t t : s.tile)
            v *= (double)std::max<int64_t>(1, t);
    }
    return v;
}

int parallel_of(const FuncChoice &c) {
    int p = 0;
    for (const StageChoice &s : c.stages)
        p += s.parallel_loops;
    return p;
}

int vector_of(const FuncChoice &c) {
    int v = 0;
    for (const StageChoice &s : c.stages)
        v = std::max(v, s.vector_var >= 0 ? s.vector_width : 0);
    return v;
}

double sign(double x) {
    return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
}

} // namespace

std::vector<float> stage_rows(const ScheduleState &s, const std::vector<int> &nodes,
                              const std::vector<double> &node_cost, const std::vector<EditHistory> &history) {
    const PipelineGraph &g = s.graph();
    double total = 0;
    for (double c : node_cost)
        total += c;
    total = std::max(total, 1e-12);
    auto own = [&](int n, float *r) {
        const FuncChoice &c = s.choice(n);
        const Node &node = g.node(n);
        const double share = node_cost[n] / total;
        r[0] = (float)share;
        r[1] = clampf(std::log(std::max(share, 1e-10)) / 10, -1, 0);
        r[2] = c.placement == Placement::Inline;
        r[3] = c.placement == Placement::Root;
        r[4] = c.placement == Placement::At;
        r[5] = node.stages.size() > 1;
        const EditHistory &h = history[n];
        r[6] = (float)(std::log1p(h.tries) / 3);
        r[7] = (float)((h.wins + 1.0) / (h.tries + 2.0));
        r[8] = parallel_of(c) > 0;
        r[9] = vector_of(c) > 0;
        r[10] = clampf(std::log10(std::max<double>(1, (double)region_points(node.root))) / 7, 0, 2);
        r[11] = node.is_output;
    };
    std::vector<float> out(nodes.size() * kStageInputs, 0.0f);
    for (size_t i = 0; i < nodes.size(); i++) {
        float *r = out.data() + i * kStageInputs;
        own(nodes[i], r);
        // One round of message passing: the mean of [share, root, at] over producers and consumers.
        const Node &node = g.node(nodes[i]);
        for (int side = 0; side < 2; side++) {
            const std::vector<int> &nb = side == 0 ? node.producers : node.consumers;
            int count = 0;
            for (int k : nb) {
                if (g.node(k).is_input) continue;
                float tmp[kStageInputs] = {0};
                own(k, tmp);
                r[12 + 3 * side] += tmp[0];
                r[13 + 3 * side] += tmp[3];
                r[14 + 3 * side] += tmp[4];
                count++;
            }
            for (int j = 0; j < 3 && count > 0; j++)
                r[12 + 3 * side + j] /= (float)count;
        }
    }
    return out;
}

std::vector<float> kind_rows(const float *stage_row, const std::vector<EditKind> &kinds,
                             const std::vector<int> &edits_per_kind, const EditHistory &h) {
    std::vector<float> out(kinds.size() * kKindInputs, 0.0f);
    for (size_t i = 0; i < kinds.size(); i++) {
        float *r = out.data() + i * kKindInputs;
        std::copy(stage_row, stage_row + kStageInputs, r);
        const int k = (int)kinds[i];
        r[kStageInputs + k] = 1;
        r[kStageInputs + 4] = (float)(std::log1p(edits_per_kind[i]) / 3);
        r[kStageInputs + 5] = (float)(std::log1p(h.kind_tries[k]) / 3);
        r[kStageInputs + 6] = (float)((h.kind_wins[k] + 1.0) / (h.kind_tries[k] + 2.0));
    }
    return out;
}

std::vector<float> value_rows(const ScheduleState &s, const std::vector<Edit> &edits,
                              const std::vector<double> &after, double before) {
    HARL_ASSERT(after.size() == edits.size(), "value rows: one prediction per edit");
    std::vector<float> out(edits.size() * kValueInputs, 0.0f);
    for (size_t i = 0; i < edits.size(); i++) {
        float *r = out.data() + i * kValueInputs;
        const Edit &e = edits[i];
        const FuncChoice &cur = s.choice(e.node), &next = *e.decision.choice;
        r[(int)e.kind] = 1;
        const double delta = std::log(std::max(after[i], 1e-12) / std::max(before, 1e-12));
        r[4] = clampf(delta, -3, 3);
        r[5] = delta < -1e-3;
        r[6] = delta > 1e-3;
        r[7] = clampf(std::log(inner_volume(next) / inner_volume(cur)) / 3, -3, 3);
        r[8] = next.placement == Placement::Inline && cur.placement != Placement::Inline;
        r[9] = next.placement == Placement::Root && cur.placement != Placement::Root;
        r[10] = next.placement == Placement::At && (cur.placement != Placement::At || e.decision.retile);
        r[11] = (float)(next.placement == Placement::At && cur.placement == Placement::At &&
                                next.at_node == cur.at_node
                            ? sign(next.at_loop - cur.at_loop)
                            : 0.0);
        r[12] = (float)sign(vector_of(next) - vector_of(cur));
        r[13] = (float)sign(parallel_of(next) - parallel_of(cur));
    }
    return out;
}

std::vector<float> critic_row(const std::vector<float> &rows, int n, double progress) {
    std::vector<float> out(kCriticInputs, 0.0f);
    for (int j = 0; j < kStageInputs; j++) {
        float sum = 0, mx = n > 0 ? rows[j] : 0;
        for (int i = 0; i < n; i++) {
            sum += rows[(size_t)i * kStageInputs + j];
            mx = std::max(mx, rows[(size_t)i * kStageInputs + j]);
        }
        out[j] = n > 0 ? sum / n : 0;
        out[kStageInputs + j] = mx;
    }
    out[2 * kStageInputs] = (float)progress;
    return out;
}

} // namespace harl
