// AnalyticCostModel: seconds = max(compute, memory) + overheads, per stage.
//  compute: arithmetic and load instructions over the vector lanes actually used, spread over
//           the cores the stage's parallel loop can keep busy; gathered loads (clamped
//           lanes where loop partitioning keeps the clamp, too) and scattered stores go
//           lane by lane; register spills of accumulator tiles larger than the register
//           file slow it down; dense scalar inner loops and reductions along an innermost
//           RVar are vectorised by LLVM; a vectorised reduction with too few accumulator
//           chains in flight waits on their latency.
//  memory:  bytes pulled from L2, LLC and DRAM (from the featurizer's working-set analysis, in
//           whole lines where the features have them) over each level's bandwidth; DRAM
//           bandwidth is shared by all cores. Accumulator lines a reduction's block reloads
//           because they crowd some L1 sets (layout 4) stall its stores: an L2 latency each.
//  overheads: loop iterations that are neither vectorised nor unrolled, parallel launches
//           and tasks, heap allocations, stores into lines that neighbouring parallel tasks
//           share.
// The constants describe a generic modern core (3 GHz, two vector ALU ports). Six of them
// (AnalyticConstants in CostModel.h) are calibrated on the random training pipelines of the Zen 4
// dataset, where four moved from their first guesses; none on the apps or any single pipeline.
#include "../autoscheduler/Errors.h"
#include "CostModel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace harl {
namespace {

class AnalyticCostModel : public CostModel {
  public:
    explicit AnalyticCostModel(const MachineInfo &m) : m_(m) {}
    std::string name() const override { return "analytic"; }

    void predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) override {
        seconds->resize(stages.size());
        for (size_t i = 0; i < stages.size(); i++)
            (*seconds)[i] = stage_terms(stages[i]).seconds();
    }

    AnalyticTerms stage_terms(const StageFeatures &f) const {
        const double hz = 3.0e9, ops_per_cycle = 2.0;
        const double lanes = std::max(1.0f, f[F_vector_width]);
        const double util = std::max(0.05f, f[F_vector_utilization]);
        const double points = f[F_points_total];
        const double vectors = points / (lanes * util);
        // Loads: a dense vector load is one instruction, a broadcast cheap. Lanes a few elements
        // apart (layout 2's short_stride_loads) come from a few lines with shuffles: about one
        // instruction per lane; lanes further apart are loaded one by one and inserted: two.
        // (Older samples have only their sum, strided_loads, charged as the short kind.)
        const double gathers = f[F_gather_loads], short_strided = f[F_strided_loads] - gathers;
        // Dense loads whose lanes pass through a clamp are gathers where Halide's loop
        // partitioning leaves the clamp in place (layout 6's border_gather_loads): a hardware
        // gather of a clamped ramp, about one slot per lane.
        double load_instr = f[F_dense_vector_loads] + (short_strided + 2.0 * gathers) * lanes +
                            m_.analytic.broadcast_load_slots * f[F_broadcast_loads] + f[F_scalar_loads] +
                            f[F_border_gather_loads] * (lanes - 1.0);
        double div_extra = 10.0 * f[F_inlined_div_ops] + 20.0 * f[F_inlined_math_ops];
        // Stores: one per point for pure stages; updates pay for reading and writing their
        // accumulator unless it stays in registers. Vectors stored across the storage's innermost
        // dimension (store_stride > 1) are scattered: per lane an extract, an address and a
        // store to a line of its own, about four to six instruction slots. An update's accumulator
        // vectors are then gathered and scattered on every step, even in an unrolled block:
        // LLVM keeps only dense vector accumulators in registers. (Per-Func profiles of Zen 4
        // samples, harl-profile: such stages ran 10-60x slower than charged one slot per vector.)
        const bool scattered = f[F_vector_width] > 1 && f[F_store_stride] > 1;
        double store = f[F_is_update] > 0 ? f[F_accumulator_memory_ops] : 1.0;
        if (scattered) store = (f[F_is_update] > 0 ? 2.0 : 1.0) * m_.analytic.scattered_store_slots * lanes;
        // Multiply-adds fuse into one instruction where LLVM contracts them: about half of those
        // the featurizer finds.
        double fused = m_.analytic.fused_share * f[F_fused_multiply_adds];
        double instr = vectors * (f[F_ops_per_point] - fused + div_extra + load_instr + store);
        // Accumulator tiles beyond the register file spill every iteration.
        double regs = m_.vector_registers - 3;
        double acc = f[F_accumulator_registers];
        if (acc > regs && f[F_accumulator_memory_ops] == 0)
            instr *= 1.0 + m_.analytic.spill_factor * (acc - regs) / acc;
        double cores = std::min<double>(m_.parallelism, std::max(1.0f, f[F_parallel_tasks]));
        double par = std::max(1.0 / m_.parallelism, (double)f[F_parallel_efficiency]) * m_.parallelism;
        par = std::min(par, cores);
        double compute = instr / (hz * ops_per_cycle) / par;
        // A vectorised float reduction adds into each accumulator vector of its block once per
        // step of its RVar loops: a chain of dependent adds. The core overlaps the chains of
        // one block, and those of the next block too when a whole block (all its steps) fits
        // in its window of in-flight instructions (layout 6's reduction_chain_steps); with
        // fewer chains in flight than the add latency times the issue width, the chains set
        // the pace, not the ports (one accumulator through 144 steps ran 4x slower than its
        // instructions allow).
        const double chain_latency_cycles = 4, window_instr = 256;
        const double steps = f[F_reduction_chain_steps];
        if (f[F_is_update] > 0 && f[F_vector_width] > 1 && f[F_op_fadd] > 0 && acc >= 1 && steps > 0) {
            const double block_instr = steps * acc * (instr / std::max(1.0, vectors));
            const double chains = acc * std::max(1.0, window_instr / block_instr);
            compute = std::max(compute, vectors * chain_latency_cycles / chains / hz / par);
        }
        // An unvectorised stage whose innermost loop runs along its storage's dense dimension
        // (layout 2's scalar_dense_inner_extent) is vectorised by LLVM's loop vectoriser anyway,
        // at about half the benefit of explicit vectors (remainder loops, runtime checks); the
        // loads it has to gather (layout 5's scalar_inner_gather_loads) still cost two slots per
        // lane, as explicit gathers do. (Per-Func profiles: updates with such loops ran 1.9x
        // faster than charged as scalar.)
        // The same for an unvectorised update whose innermost loop is an RVar its stores do not
        // move with (layout 5's inner_reduction_extent): its accumulator stays in a register
        // (no loads and stores of it) and LLVM vectorises the reduction, since Halide lets it
        // reassociate.
        const double per_point = f[F_ops_per_point] - fused + div_extra + load_instr + store;
        auto llvm_vectorised = [&](double extent, double gathered, double instr_per_point) {
            if (f[F_vector_width] > 1 || extent < 4 || instr_per_point <= 0) return; // <= per_point
            const double llvm_lanes = std::max(1.0, 0.5 * std::min<double>(extent, f[F_native_lanes]));
            gathered = std::min(gathered, instr_per_point);
            const double vectorised = (instr_per_point - gathered) / llvm_lanes + 2.0 * gathered;
            if (vectorised < per_point) compute *= vectorised / per_point;
        };
        llvm_vectorised(f[F_scalar_dense_inner_extent], f[F_scalar_inner_gather_loads], per_point);
        llvm_vectorised(f[F_inner_reduction_extent], f[F_inner_reduction_gather_loads],
                        per_point - f[F_accumulator_memory_ops]);

        const double l2_bw = 100e9, llc_bw = m_.analytic.llc_bandwidth;
        const double dram_bw = 16e9 * (40.0 / std::max(1.0, m_.balance));
        // Traffic in whole lines (layout 3); samples of older layouts have only the element counts.
        const bool lines = f[F_line_bytes_from_l2_total] > 0 || f[F_line_bytes_from_llc_total] > 0 ||
                           f[F_line_bytes_from_dram_total] > 0;
        const double l2 = lines ? f[F_line_bytes_from_l2_total] : f[F_bytes_from_l2_total];
        const double llc = lines ? f[F_line_bytes_from_llc_total] : f[F_bytes_from_llc_total];
        const double dram = lines ? f[F_line_bytes_from_dram_total] : f[F_bytes_from_dram_total];
        double mem = l2 / (l2_bw * par) + llc / (llc_bw * par) +
                     (dram + f[F_store_bytes_total]) / (dram_bw * std::min(par, 2.0));
        // Conflict misses are in `l2` at its bandwidth already; they cost a latency instead.
        const double l2_latency_cycles = 14;
        mem +=
            f[F_accumulator_conflict_lines_total] * std::max(0.0, l2_latency_cycles / hz - 64 / l2_bw) / par;
        // An update whose accumulators live in memory walks its whole block of them on every
        // reduction step. A block larger than the L1 data cache (with the inputs each step reads
        // beside it) comes back from L2 on every step: each accumulator is loaded from and stored
        // to L2 once per point. (The unseen random pipeline 9992312's 1x1 convolution, 576 vectors
        // of accumulators, 36 KB, in 32 rows of 3 pixels, ran 22 ms; with 85 vectors, 2.8 ms.)
        const double block_bytes = f[F_inner_tile_points] * f[F_bytes_per_point];
        if (f[F_is_update] > 0 && f[F_accumulator_memory_ops] > 0 && block_bytes > m_.analytic.l1_block_bytes)
            mem += 2.0 * points * f[F_bytes_per_point] / (l2_bw * par);

        double overhead = f[F_loop_iterations_total] * 0.5 / hz / par;
        // False sharing (layout 7's shared_line_stores_total): an update whose accumulators live
        // in memory loads and stores each of them on every reduction step, and where a
        // neighbouring task on the other core works on the same lines, the load waits for the
        // line to come back from that core. The unseen random pipeline 9500004's strided
        // convolution, one 16-byte accumulator column per task, ran 1.7-8 ms (minimum of 30
        // runs) against 0.3 ms in 64-byte columns: 2-10 ns per step. Stores of a pure stage or of
        // register-resident accumulators move each line about once per task, behind the store
        // buffer: not charged. (Per-store costs of 0.3-3 ns rank the 20,255 Zen 4 samples best.)
        if (f[F_is_update] > 0 && f[F_accumulator_memory_ops] > 0) {
            const double line_transfer_s = 3e-9;
            overhead += f[F_shared_line_stores_total] * line_transfer_s / par;
        }
        overhead += f[F_parallel_launches] * 3e-6 + f[F_parallel_launches] * f[F_parallel_tasks] * 5e-8;
        // Buffers Halide cannot put on the stack (layout 8's heap_allocations_total): a call to
        // halide_malloc and one to halide_free per realization, about 20 ns for a small buffer
        // (a max pool's 65,600 allocations of 64 bytes per run cost 0.7 ms on two cores), and a
        // large buffer's fresh pages. (Per-allocation costs of 10-20 ns rank the 26,862 Zen 4
        // samples best: 0.777 pairwise against 0.776 with none, 0.770 at 100 ns.)
        const double heap_s = f[F_allocation_bytes] > kHalideStackBytes ? 1e-6 : 2e-8;
        overhead += f[F_heap_allocations_total] * heap_s / par;
        // Large unrolled bodies cost instruction-cache misses.
        // Code size of the unrolled body (copies x instructions per point, inlined work
        // included): large bodies miss in the instruction cache and decoders, and compile slowly.
        double body = f[F_unrolled_body] * (f[F_ops_per_point] + f[F_op_load] + 10.0 * f[F_inlined_math_ops]);
        if (body > 256) compute *= body / 256;
        return AnalyticTerms{compute, mem, overhead};
    }

  private:
    MachineInfo m_;
};

// The names harl-train --analytic-constants takes.
struct NamedConstant {
    const char *name;
    double AnalyticConstants::*member;
};
constexpr NamedConstant kConstants[] = {
    {"broadcast_load_slots", &AnalyticConstants::broadcast_load_slots},
    {"scattered_store_slots", &AnalyticConstants::scattered_store_slots},
    {"fused_share", &AnalyticConstants::fused_share},
    {"spill_factor", &AnalyticConstants::spill_factor},
    {"llc_bandwidth", &AnalyticConstants::llc_bandwidth},
    {"l1_block_bytes", &AnalyticConstants::l1_block_bytes},
};

} // namespace

bool parse_analytic_constants(const std::string &spec, AnalyticConstants *c, std::string *error) {
    size_t pos = 0;
    while (pos < spec.size()) {
        size_t end = spec.find(',', pos);
        if (end == std::string::npos) end = spec.size();
        const std::string item = spec.substr(pos, end - pos);
        pos = end + 1;
        const size_t eq = item.find('=');
        const std::string name = item.substr(0, eq);
        const NamedConstant *k = nullptr;
        for (const NamedConstant &n : kConstants)
            if (name == n.name) k = &n;
        if (!k || eq == std::string::npos) {
            *error = "\"" + item + "\" is not NAME=VALUE with NAME one of " + format_analytic_constants({});
            return false;
        }
        char *stop = nullptr;
        const std::string text = item.substr(eq + 1);
        const double v = std::strtod(text.c_str(), &stop);
        if (text.empty() || *stop != '\0' || !std::isfinite(v) || v < 0) {
            *error = "the value of " + name + " must be a number >= 0, not \"" + text + "\"";
            return false;
        }
        c->*(k->member) = v;
    }
    return true;
}

bool operator==(const AnalyticConstants &a, const AnalyticConstants &b) {
    for (const NamedConstant &n : kConstants)
        if (a.*(n.member) != b.*(n.member)) return false;
    return true;
}

std::string format_analytic_constants(const AnalyticConstants &c) {
    std::string out;
    for (const NamedConstant &n : kConstants) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%s%s=%g", out.empty() ? "" : ",", n.name, c.*(n.member));
        out += buf;
    }
    return out;
}

AnalyticTerms analytic_terms(const MachineInfo &m, const StageFeatures &f) {
    HARL_ASSERT(!m.gpu, "analytic_terms() is the CPU model's; GPU targets have their own");
    return AnalyticCostModel(m).stage_terms(f);
}

void base_estimates(CostModel &base, const MachineInfo &m, const std::vector<StageFeatures> &stages,
                    std::vector<double> *seconds, std::vector<AnalyticTerms> *terms) {
    if (!terms) {
        base.predict(stages, seconds);
        return;
    }
    terms->resize(stages.size());
    seconds->resize(stages.size());
    for (size_t i = 0; i < stages.size(); i++) {
        (*terms)[i] = analytic_terms(m, stages[i]);
        (*seconds)[i] = (*terms)[i].seconds();
    }
}

std::unique_ptr<CostModel> make_analytic_cost_model(const MachineInfo &m) {
    return std::make_unique<AnalyticCostModel>(m);
}

} // namespace harl
