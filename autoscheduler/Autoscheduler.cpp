#include "Autoscheduler.h"
#include "../cost_model/CostModel.h"
#include "BeamSearch.h"
#include "Errors.h"
#include "Featurizer.h"
#include "RfactorPass.h"
#include "ScheduleEmitter.h"
#include "TargetModel.h"
#include "gpu/GpuBeamSearch.h"
#include "gpu/GpuEmitter.h"
#include "gpu/GpuFeaturizer.h"

#include <cstring>
#include <iostream>
#include <sstream>

namespace harl {

std::vector<uint8_t> encode_featurization(const std::vector<int> &nodes, const std::vector<int> &stages,
                                          const std::vector<StageFeatures> &features,
                                          uint32_t layout_version) {
    std::vector<uint8_t> out;
    auto put = [&](const void *p, size_t n) {
        const uint8_t *b = (const uint8_t *)p;
        out.insert(out.end(), b, b + n);
    };
    put("HARLFEAT", 8);
    uint32_t hdr[3] = {layout_version, (uint32_t)features.size(), (uint32_t)kNumFeatures};
    put(hdr, sizeof(hdr));
    for (size_t i = 0; i < features.size(); i++) {
        int32_t ids[2] = {nodes[i], stages[i]};
        put(ids, sizeof(ids));
        put(features[i].data(), sizeof(float) * kNumFeatures);
    }
    return out;
}

std::unique_ptr<CostModel> make_cost_model(const HarlOptions &opts, const MachineInfo &m) {
    const bool learned = opts.cost_model == "learned" || (opts.cost_model == "auto" && !opts.weights.empty());
    if (m.gpu && learned) {
        // No GPU weights are shipped: they come from harl-train --gpu on GPU samples.
        if (opts.weights.empty()) {
            throw HarlError(
                "HARL_COST_MODEL=learned on a GPU target: HARL ships no GPU weights; set HARL_WEIGHTS "
                "to weights from `harl-train --gpu` (samples collected with harl-collect --target "
                "host-cuda...), or unset HARL_COST_MODEL to use the analytic GPU model");
        }
        ModelWeights w = load_weights(opts.weights);
        if (w.layout_version != kGpuFeatureLayoutVersion) {
            throw HarlError(
                "HARL_WEIGHTS=" + opts.weights +
                " was trained on CPU features; a GPU target needs weights from `harl-train --gpu`");
        }
        return make_learned_cost_model(m, w);
    }
    if (m.gpu) return make_gpu_analytic_cost_model(m);
    if (learned && !opts.weights.empty()) {
        ModelWeights w = load_weights(opts.weights);
        if (w.layout_version != kFeatureLayoutVersion) {
            throw HarlError(
                "HARL_WEIGHTS=" + opts.weights +
                " was trained on GPU features (harl-train --gpu); a CPU target needs CPU weights");
        }
        return make_learned_cost_model(m, w);
    }
    // auto: the learned model when the user trained weights for their machine; otherwise the
    // analytic model, which still schedules the DNN apps better than the shipped weights do
    // (README, "Retrain HARL for your machine").
    if (opts.cost_model == "analytic" || (opts.cost_model == "auto" && opts.weights.empty())) {
        return make_analytic_cost_model(m);
    }
    HARL_ASSERT(opts.cost_model == "learned" || opts.cost_model == "auto",
                "unknown cost model " << opts.cost_model);
    return make_learned_cost_model(m, opts.weights.empty() ? shipped_weights() : load_weights(opts.weights));
}

std::vector<StageFeatures> decode_featurization(const std::vector<uint8_t> &bytes, uint32_t *layout_version) {
    auto fail = [](const std::string &why) { return HarlError("featurization: " + why); };
    if (bytes.size() < 20 || std::memcmp(bytes.data(), "HARLFEAT", 8) != 0) throw fail("bad header");
    uint32_t hdr[3];
    std::memcpy(hdr, bytes.data() + 8, sizeof(hdr));
    if (layout_version) *layout_version = hdr[0];
    if (hdr[0] != kFeatureLayoutVersion && !(layout_version && hdr[0] == kGpuFeatureLayoutVersion)) {
        throw fail("feature layout version " + std::to_string(hdr[0]) + ", expected " +
                   std::to_string(kFeatureLayoutVersion));
    }
    if (hdr[2] != (uint32_t)kNumFeatures) throw fail("wrong number of features per stage");
    const size_t per = 8 + sizeof(float) * kNumFeatures;
    if (bytes.size() != 20 + per * hdr[1]) throw fail("truncated or oversized");
    std::vector<StageFeatures> out(hdr[1]);
    for (size_t i = 0; i < out.size(); i++)
        std::memcpy(out[i].data(), bytes.data() + 20 + per * i + 8, sizeof(float) * kNumFeatures);
    return out;
}

MachineInfo make_machine_info(const Halide::Target &t, const Halide::MachineParams &mp) {
    MachineInfo m;
    m.parallelism = std::max(1, mp.parallelism);
    m.llc_bytes = (double)std::max<uint64_t>(64 * 1024, mp.last_level_cache_size);
    m.balance = mp.balance > 0 ? mp.balance : 40;
    m.vector_registers = t.has_feature(Halide::Target::AVX512) || t.arch == Halide::Target::ARM ? 32 : 16;
    if (t.has_gpu_feature()) {
        TargetModel tm = TargetModel::from(t, mp);
        m.gpu = true;
        m.gpu_sm_count = tm.gpu.sm_count;
        m.gpu_flops = tm.gpu.sm_count * tm.gpu.fp32_flops_per_sm_cycle * tm.gpu.clock_hz;
        m.gpu_dram_bytes_per_s = tm.gpu.dram_bytes_per_s;
        m.gpu_max_threads_per_sm = tm.gpu.max_threads_per_sm;
        m.gpu_registers_per_sm = tm.gpu.registers_per_sm;
        m.gpu_shared_bytes_per_sm = (double)tm.gpu.shared_bytes_per_sm;
    }
    return m;
}

namespace {

std::string header_comment(const Halide::Target &t, const Halide::MachineParams &mp, const HarlOptions &opts,
                           const CostModel &model, double cost, const std::string &summary,
                           const std::string &rfactor_source) {
    std::ostringstream hdr;
    hdr << "// Generated by the HARL autoscheduler for target " << t.to_string() << ",\n// machine_params "
        << mp.to_string() << ", seed " << opts.seed << ", beam " << opts.beam_size << ", cost model "
        << model.name() << ".\n// Predicted runtime " << cost * 1e3 << " ms.\n// Decisions:\n";
    std::istringstream lines(summary);
    for (std::string line; std::getline(lines, line);)
        hdr << "//   " << line << "\n";
    hdr << "\n";
    if (!rfactor_source.empty()) {
        hdr << "    // Reductions split for parallelism (before anything else):\n" << rfactor_source << "\n";
    }
    return hdr.str();
}

AutoscheduleOutput autoschedule_gpu(const PipelineGraph &g, const Halide::Target &t,
                                    const Halide::MachineParams &mp, const HarlOptions &opts,
                                    CostModel &model, const std::string &rfactor_source) {
    TargetModel tm = TargetModel::from(t, mp);
    if (opts.verbose >= 1) std::cerr << "HARL: " << tm.describe() << "\n";
    GpuSearchResult res = gpu_beam_search(g, tm, opts, model);
    std::vector<Directive> ds = make_gpu_directives(res.best);
    apply_directives(g, ds);
    AutoscheduleOutput out;
    out.predicted_seconds = res.cost;
    out.search_seconds = res.seconds;
    out.states_evaluated = res.states_evaluated;
    out.summary = res.best.describe();
    out.schedule_source = emit_schedule_source(
        g, ds, header_comment(t, mp, opts, model, res.cost, out.summary, rfactor_source));
    std::vector<int> nodes, stages;
    std::vector<StageFeatures> feats = gpu_featurize_all(res.best, &nodes, &stages);
    out.featurization = encode_featurization(nodes, stages, feats, kGpuFeatureLayoutVersion);
    if (opts.verbose >= 1) {
        std::cerr << "HARL: " << g.num_nodes() << " nodes, " << res.states_evaluated << " GPU states in "
                  << res.seconds << " s, " << res.stats.invalid << " of " << res.stats.proposed
                  << " proposals invalid (" << opts.gpu_init << " initialisation), predicted "
                  << res.cost * 1e3 << " ms\n"
                  << out.summary;
    }
    return out;
}

} // namespace

AutoscheduleOutput autoschedule(const Halide::Pipeline &p, const Halide::Target &t,
                                const Halide::MachineParams &mp, const HarlOptions &opts) {
    std::vector<Halide::Internal::Function> outputs;
    for (const Halide::Func &f : p.outputs())
        outputs.push_back(f.function());
    // rfactor reductions that lack parallelism, re-analysing after each one.
    std::string rfactor_source;
    auto graph = std::make_unique<PipelineGraph>(outputs, t);
    for (int round = 0; round < 16; round++) {
        RfactorResult rf = apply_rfactor(*graph, std::max(1, mp.parallelism));
        if (!rf.applied) break;
        for (const auto &line : rf.source)
            rfactor_source += line;
        graph = std::make_unique<PipelineGraph>(outputs, t);
    }
    const PipelineGraph &g = *graph;
    if (opts.verbose >= 3) std::cerr << g.describe();
    MachineInfo m = make_machine_info(t, mp);
    auto model = make_cost_model(opts, m);
    if (m.gpu) return autoschedule_gpu(g, t, mp, opts, *model, rfactor_source);
    SearchResult res = beam_search(g, opts, m, *model);

    std::vector<Directive> ds = make_directives(res.best);
    apply_directives(g, ds);

    AutoscheduleOutput out;
    out.predicted_seconds = res.cost;
    out.search_seconds = res.seconds;
    out.states_evaluated = res.states_evaluated;
    out.summary = res.best.describe();
    out.schedule_source = emit_schedule_source(
        g, ds, header_comment(t, mp, opts, *model, res.cost, out.summary, rfactor_source));

    std::vector<int> nodes, stages;
    std::vector<StageFeatures> feats = featurize_all(res.best, m, &nodes, &stages);
    out.featurization = encode_featurization(nodes, stages, feats);
    if (opts.verbose >= 2) {
        // Per-stage prediction and features of the chosen schedule.
        std::vector<double> secs;
        model->predict(feats, &secs);
        for (size_t i = 0; i < feats.size(); i++) {
            std::cerr << "HARL: stage " << g.node(nodes[i]).stages[stages[i]].name << ": " << secs[i] * 1e3
                      << " ms\n";
            for (int k = kNumPipelineFeatures; k < kNumFeatures; k++) {
                std::cerr << "  " << feature_name(k) << "=" << feats[i][k];
            }
            std::cerr << "\n";
        }
    }
    if (opts.verbose >= 1) {
        std::cerr << "HARL: " << g.num_nodes() << " nodes, " << res.states_evaluated << " states in "
                  << res.seconds << " s"
                  << (res.budget_exhausted ? " (time budget reached, finished greedily)" : "")
                  << ", predicted " << res.cost * 1e3 << " ms\n"
                  << out.summary;
    }
    return out;
}

} // namespace harl
