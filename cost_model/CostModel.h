// CostModel: predicts the runtime of a (partially) scheduled pipeline from per-stage features.
// No Halide or LibTorch types appear here: implementations live beside this header
// (AnalyticCostModel, and the learned TorchCostModel) and are chosen by HarlOptions.
#pragma once

#include "FeatureLayout.h"
#include "ModelWeights.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace harl {

// Facts about the machine a cost model may use (from Halide's MachineParams and the target).
struct MachineInfo {
    int parallelism = 8;
    double llc_bytes = 16 * 1024 * 1024;
    double balance = 40;
    int vector_registers = 16;
    // An x86 target with AVX-512: HARL's shipped weights for it were trained on such a machine
    // (shipped_weights_for() in ModelWeights.h).
    bool avx512 = false;
    // GPU targets (TargetModel's CudaLimits): the features are then GpuFeatureLayout.h's.
    // (Occupancy limits are turned into features by the GPU featurizer, not needed here.)
    bool gpu = false;
    double gpu_flops = 15e12; // fp32 operations per second, whole device
    double gpu_dram_bytes_per_s = 900e9;
};

class CostModel {
  public:
    virtual ~CostModel() = default;
    virtual std::string name() const = 0;
    // Predicted seconds for each stage of a batch (the pipeline's cost is their sum).
    virtual void predict(const std::vector<StageFeatures> &stages, std::vector<double> *seconds) = 0;
};

// The analytic model: compute throughput, memory traffic per cache level and parallel/loop
// overheads, with generic x86/ARM constants. The baseline and fallback for learned models.
std::unique_ptr<CostModel> make_analytic_cost_model(const MachineInfo &m);

// The CPU analytic model's estimate of one stage in its three terms: the core overlaps compute
// with memory traffic (the larger of the two, plus a quarter of the smaller), and pays the
// overheads (loop iterations, parallel launches, allocations, false sharing) on top. Learned
// models with three outputs correct each term (ModelWeights::outputs).
struct AnalyticTerms {
    double compute = 0, memory = 0, overhead = 0;
    static double combine(double compute, double memory, double overhead) {
        return (compute > memory ? compute + 0.25 * memory : memory + 0.25 * compute) + overhead;
    }
    double seconds() const { return combine(compute, memory, overhead); }
    // With each term multiplied by exp of its log-correction (c[0..2]: compute, memory, overhead).
    double corrected(const double *c) const {
        return combine(compute * std::exp(c[0]), memory * std::exp(c[1]), overhead * std::exp(c[2]));
    }
};
AnalyticTerms analytic_terms(const MachineInfo &m, const StageFeatures &f);
// The estimates a learned model corrects: `base`'s seconds per stage, or with `terms` (weights
// with term outputs, CPU only) the analytic model's terms per stage and the seconds they combine
// to, each stage computed once.
void base_estimates(CostModel &base, const MachineInfo &m, const std::vector<StageFeatures> &stages,
                    std::vector<double> *seconds, std::vector<AnalyticTerms> *terms = nullptr);

// The learned model (LearnedCostModel.cpp; trained as StageMlp.h): the analytic estimate of
// each stage corrected by a per-stage network with weights from harl-train.
// The analytic model of the machine's kind: the GPU model for GPU targets, else the CPU one.
// Learned models correct its estimates.
std::unique_ptr<CostModel> make_base_cost_model(const MachineInfo &m);

// The analytic GPU model (GpuAnalyticCostModel.cpp) over GpuFeatureLayout.h features: launch
// overhead, occupancy, coalescing, shared-memory and register reuse, host stages and copies.
std::unique_ptr<CostModel> make_gpu_analytic_cost_model(const MachineInfo &m);

std::unique_ptr<CostModel> make_learned_cost_model(const MachineInfo &m, const ModelWeights &w);

} // namespace harl
