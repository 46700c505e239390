// GpuAnalyticCostModel: seconds per stage of a GPU schedule from GpuFeatureLayout.h features.
//   launch:  a fixed overhead per kernel launch.
//   compute: operations over the device's fp32 throughput, scaled by the threads that do useful
//            work (tails, partial warps), by how many warps are resident to hide latency
//            (occupancy) and by the last partial wave of blocks.
//   memory:  unique bytes from DRAM, bytes moved through L2/L1 by each warp (uncoalesced loads
//            move whole sectors), accumulator read-modify-writes, shared-memory traffic, each
//            over its bandwidth (multiples of DRAM bandwidth typical of NVIDIA parts).
//   host:    stages left on the CPU run at a scalar rate and pay for copies both ways.
// Kernels overlap compute and memory: the larger one dominates. Generic constants only.
#include "CostModel.h"
#include "GpuFeatureLayout.h"

#include <algorithm>
#include <cmath>

namespace harl {
namespace {

class GpuAnalyticCostModel : public CostModel {
  public:
    explicit GpuAnalyticCostModel(const MachineInfo &m) : m_(m) {}
    std::string name() const override { return "gpu-analytic"; }

    void predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) override {
        seconds->resize(stages.size());
        for (size_t i = 0; i < stages.size(); i++)
            (*seconds)[i] = stage_seconds(stages[i]);
    }

  private:
    double stage_seconds(const StageFeatures &f) const {
        if (f[G_g_mode] == 3) { // host
            return f[G_g_host_ops_total] / 2e9 + f[G_g_transfer_bytes] / 12e9 + 20e-6;
        }
        const double launch = 4e-6 * f[G_g_kernel_launches];
        const double waves = std::max(1e-6f, f[G_g_waves]);
        // The last wave of blocks leaves SMs idle; fewer blocks than SMs leave most idle.
        const double wave_eff = waves >= 1 ? waves / std::ceil(waves) : waves;
        const double latency_hiding = std::min(1.0, std::max(0.02f, f[G_g_occupancy]) / 0.25);
        const double lanes =
            std::max(0.02f, f[G_g_thread_utilization]) * std::max(0.03f, f[G_g_warp_utilization]);
        const double ops = f[G_g_points_total] * (f[G_g_ops_per_point] + 0.25 * f[G_g_op_load]);
        const double compute = ops / (m_.gpu_flops * lanes * latency_hiding * wave_eff);

        const double bw = m_.gpu_dram_bytes_per_s;
        const double mem_hiding = std::min(1.0, std::max(0.02f, f[G_g_occupancy]) / 0.5);
        double dram = (f[G_g_global_bytes_total] + f[G_g_store_bytes_total]) / bw;
        double l2 = f[G_g_global_requests_total] / (3.0 * bw);
        double acc = f[G_g_accumulator_bytes_total] / (6.0 * bw);
        double shared = f[G_g_shared_bytes_total] / (10.0 * bw);
        double memory = (dram + l2 + acc + shared) / (mem_hiding * std::max(0.05, wave_eff));
        return launch + std::max(compute, memory) + 0.1 * std::min(compute, memory);
    }
    MachineInfo m_;
};

} // namespace

std::unique_ptr<CostModel> make_gpu_analytic_cost_model(const MachineInfo &m) {
    return std::make_unique<GpuAnalyticCostModel>(m);
}

std::unique_ptr<CostModel> make_base_cost_model(const MachineInfo &m) {
    return m.gpu ? make_gpu_analytic_cost_model(m) : make_analytic_cost_model(m);
}

} // namespace harl
