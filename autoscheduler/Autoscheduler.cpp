#include "Autoscheduler.h"
#include "../cost_model/CostModel.h"
#include "BeamSearch.h"
#include "Errors.h"
#include "Featurizer.h"
#include "HostTarget.h"
#include "LoweringCheck.h"
#include "RfactorPass.h"
#include "ScheduleEmitter.h"
#include "ScheduleReplay.h"
#include "StorageBounds.h"
#include "TargetModel.h"
#include "gpu/GpuBeamSearch.h"
#include "gpu/GpuEmitter.h"
#include "gpu/GpuFeaturizer.h"
#include "refine/MeasuredTuner.h"
#include "refine/RlRefiner.h"

#include <cstring>
#include <iostream>
#include <map>
#include <numeric>
#include <regex>
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
    const int per_stage = num_features_of_layout(layout_version);
    HARL_ASSERT(per_stage > 0, "no feature layout " << layout_version);
    uint32_t hdr[3] = {layout_version, (uint32_t)features.size(), (uint32_t)per_stage};
    put(hdr, sizeof(hdr));
    for (size_t i = 0; i < features.size(); i++) {
        int32_t ids[2] = {nodes[i], stages[i]};
        put(ids, sizeof(ids));
        put(features[i].data(), sizeof(float) * per_stage);
    }
    return out;
}

std::unique_ptr<CostModel> make_cost_model(const HarlOptions &opts, const MachineInfo &m) {
    HARL_ASSERT(opts.cost_model == "learned" || opts.cost_model == "auto" || opts.cost_model == "analytic",
                "unknown cost model " << opts.cost_model);
    // auto: the learned model on CPU targets (HARL_WEIGHTS, else the shipped weights); on GPU
    // targets only with HARL_WEIGHTS, since no GPU weights are shipped (the analytic GPU model).
    const bool learned =
        opts.cost_model == "learned" || (opts.cost_model == "auto" && (!opts.weights.empty() || !m.gpu));
    if (!learned) return make_base_cost_model(m);
    if (opts.weights.empty()) {
        // No GPU weights are shipped: they come from harl-train --gpu on GPU samples.
        if (m.gpu) {
            throw HarlError(
                "HARL_COST_MODEL=learned on a GPU target: HARL ships no GPU weights; set HARL_WEIGHTS "
                "to weights from `harl-train --gpu` (samples collected with harl-collect --target "
                "host-cuda...), or unset HARL_COST_MODEL to use the analytic GPU model");
        }
        return make_learned_cost_model(m, shipped_weights_for(m));
    }
    ModelWeights w = load_weights(opts.weights);
    // load_weights() accepted the layout: GPU, or a CPU layout (older ones read a prefix).
    if ((w.layout_version == kGpuFeatureLayoutVersion) != m.gpu) {
        throw HarlError(
            "HARL_WEIGHTS=" + opts.weights +
            (m.gpu ? " was trained on CPU features; a GPU target needs weights from `harl-train --gpu`"
                   : " was trained on GPU features (harl-train --gpu); a CPU target needs CPU weights"));
    }
    return make_learned_cost_model(m, w);
}

std::vector<StageFeatures> decode_featurization(const std::vector<uint8_t> &bytes, uint32_t *layout_version) {
    auto fail = [](const std::string &why) { return HarlError("featurization: " + why); };
    if (bytes.size() < 20 || std::memcmp(bytes.data(), "HARLFEAT", 8) != 0) throw fail("bad header");
    uint32_t hdr[3];
    std::memcpy(hdr, bytes.data() + 8, sizeof(hdr));
    if (layout_version) *layout_version = hdr[0];
    const int features = num_features_of_layout(hdr[0]);
    if (hdr[0] != kFeatureLayoutVersion && !(layout_version && features > 0)) {
        throw fail("feature layout version " + std::to_string(hdr[0]) + ", expected " +
                   std::to_string(kFeatureLayoutVersion));
    }
    if (hdr[2] != (uint32_t)features) throw fail("wrong number of features per stage");
    const size_t per = 8 + sizeof(float) * features;
    if (bytes.size() != 20 + per * hdr[1]) throw fail("truncated or oversized");
    std::vector<StageFeatures> out(hdr[1]); // value-initialised: entries an older layout lacks stay 0
    for (size_t i = 0; i < out.size(); i++)
        std::memcpy(out[i].data(), bytes.data() + 20 + per * i + 8, sizeof(float) * features);
    return out;
}

MachineInfo make_machine_info(const Halide::Target &t, const Halide::MachineParams &mp) {
    const TargetModel tm = TargetModel::from(t, mp);
    MachineInfo m;
    m.parallelism = tm.parallelism;
    m.llc_bytes = (double)tm.llc_bytes;
    m.balance = mp.balance > 0 ? mp.balance : 40;
    m.vector_registers = tm.vector_registers;
    m.avx512 = t.arch == Halide::Target::X86 && t.has_feature(Halide::Target::AVX512);
    if (tm.is_gpu()) {
        m.gpu = true;
        m.gpu_flops = tm.gpu.sm_count * tm.gpu.fp32_flops_per_sm_cycle * tm.gpu.clock_hz;
        m.gpu_dram_bytes_per_s = tm.gpu.dram_bytes_per_s;
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

} // namespace

std::string schedule_body(const std::string &schedule_source) {
    const size_t end = schedule_source.find("\n\n"); // header_comment() ends with a blank line
    const std::string body = end == std::string::npos ? schedule_source : schedule_source.substr(end);
    // Halide makes names unique per process (Func "conv$58", RDom "r94253"), so the same
    // schedule of a pipeline built twice is spelled differently. Funcs become their get_func()
    // index and RDoms their order of appearance; Var names are the schedule's own and stay.
    static const std::regex func_decl(R"(Func (\w+) = pipeline\.get_func\((\d+)\);)");
    static const std::regex rvar_decl(R"re(RVar (\w+)\("([^"$]*)\$?([^"]*)"\))re");
    static const std::regex word(R"([A-Za-z_]\w*)");
    static const std::regex suffix(R"(\$\d+)");
    std::map<std::string, std::string> canonical, rdoms;
    for (std::sregex_iterator it(body.begin(), body.end(), func_decl), e; it != e; ++it)
        canonical[(*it)[1]] = "func" + (*it)[2].str();
    for (std::sregex_iterator it(body.begin(), body.end(), rvar_decl), e; it != e; ++it) {
        const std::string rdom = rdoms.emplace((*it)[2], "rdom" + std::to_string(rdoms.size())).first->second;
        canonical[(*it)[1]] = rdom + "_" + (*it)[3].str();
        canonical[(*it)[2]] = rdom; // the RDom's name inside the quoted RVar name
    }
    std::string out;
    size_t at = 0;
    for (std::sregex_iterator it(body.begin(), body.end(), word), e; it != e; ++it) {
        auto c = canonical.find(it->str());
        out += body.substr(at, it->position() - at) + (c == canonical.end() ? it->str() : c->second);
        at = it->position() + it->length();
    }
    return std::regex_replace(out + body.substr(at), suffix, "$$");
}

namespace {

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

struct RefineOutcome {
    double seconds = 0;
    int measured = 0;
    double measured_seconds = 0;
    std::string note; // a comment line for the schedule header
};

// The RL refinement pass (model rewards) or, with HARL_MEASURE, measured tuning; replaces
// res.best/res.cost only by something predicted (or measured) faster.
RefineOutcome refine(const PipelineGraph &g, const Halide::Pipeline &p, const Halide::Target &t,
                     const Halide::MachineParams &mp, const HarlOptions &opts, const MachineInfo &m,
                     CostModel &model, SearchResult &res) {
    RefineOutcome out;
    const std::string mp_string = mp.to_string();
    if (opts.rl_budget_s <= 0 && opts.measure == 0) {
        if (!opts.policy.empty()) load_policy(opts.policy); // a bad HARL_POLICY is an error even when unused
        return out;
    }
    PolicyWeights policy = opts.policy.empty() ? shipped_policy() : load_policy(opts.policy);
    const SearchContext ctx = SearchContext::of(m, opts.max_candidates);
    RefineOptions ro;
    ro.budget_s = opts.rl_budget_s;
    ro.patience = opts.rl_patience;
    ro.max_episodes = opts.rl_episodes;
    ro.adapt = opts.rl_adapt;
    ro.seed = opts.seed;
    ro.verbose = opts.verbose;
    std::ostringstream note;
    if (opts.measure > 0) {
        CorrectedCostModel corrected(model);
        EditSpace space(g, m, corrected, ctx, opts.seed);
        RlRefiner rl(space, policy, ro);
        MeasureOptions mo;
        mo.timeout_seconds = opts.measure_timeout_s;
        mo.rounds = 3; // separate rounds: one burst of runs can be slowed down as a whole
        mo.max_runs = 300;
        CandidateMeasurer measurer(g, p, t, mo);
        std::string label;
        for (const Halide::Func &f : p.outputs())
            label += (label.empty() ? "" : "+") + f.name();
        TuneSetup setup{&g, &m, &opts, &space, &corrected, &rl, &measurer, label, t.to_string(), mp_string};
        TuneResult tr = tune_with_measurements(setup, res.best, res.finalists);
        if (!opts.trace.empty()) append_trace_csv(opts.trace, opts.tuner, label, tr.trace);
        res.best = tr.best;
        res.cost = space.cost(tr.best);
        out.seconds = tr.seconds;
        out.measured = tr.measured;
        out.measured_seconds = tr.best_seconds;
        note << "// Measured tuning (" << opts.tuner << "): " << tr.measured << " candidates (" << tr.failed
             << " failed); best measured " << tr.best_seconds * 1e3 << " ms.\n";
        out.note = note.str();
        return out;
    }
    EditSpace space(g, m, model, ctx, opts.seed);
    RlRefiner rl(space, policy, ro);
    RefineResult rr = rl.refine(res.best);
    out.seconds = rr.seconds;
    if (rr.best_cost < res.cost) {
        res.best = rr.best;
        res.cost = rr.best_cost;
    }
    // (No wall-clock figures: the header must be the same across runs.)
    note << "// RL refinement: " << rr.episodes << " episodes, " << rr.steps << " edits; predicted "
         << rr.start_cost * 1e3 << " -> " << res.cost * 1e3 << " ms"
         << (rr.stalled ? " (stopped: no improvement)" : "") << ".\n";
    out.note = note.str();
    return out;
}

} // namespace

std::unique_ptr<PipelineGraph> analyse_pipeline(const Halide::Pipeline &p, const Halide::Target &t,
                                                const Halide::MachineParams &mp,
                                                std::string *rfactor_source) {
    std::vector<Halide::Internal::Function> outputs;
    for (const Halide::Func &f : p.outputs())
        outputs.push_back(f.function());
    // rfactor reductions that lack parallelism, re-analysing after each one.
    auto graph = std::make_unique<PipelineGraph>(outputs, t);
    for (int round = 0; round < 16; round++) {
        RfactorResult rf = apply_rfactor(*graph, std::max(1, mp.parallelism));
        if (!rf.applied) break;
        for (const auto &line : rf.source)
            *rfactor_source += line;
        graph = std::make_unique<PipelineGraph>(outputs, t);
    }
    return graph;
}

namespace {

// A stored CPU schedule replayed on a fresh analysis of `p`, featurized: every stage's
// features with its node and stage index. `graph` keeps the analysis the indices refer to.
std::vector<StageFeatures> replayed_features(const Halide::Pipeline &p, const Halide::Target &t,
                                             const Halide::MachineParams &mp,
                                             const std::string &schedule_source,
                                             std::unique_ptr<PipelineGraph> *graph, std::vector<int> *nodes,
                                             std::vector<int> *stages) {
    std::string rfactor_source;
    *graph = analyse_pipeline(p, t, mp, &rfactor_source);
    const MachineInfo m = make_machine_info(t, mp);
    if (m.gpu)
        throw HarlError("replaying GPU schedules is not supported (their decisions are not replayable)");
    const ScheduleState s = replay_decisions(**graph, std::max(1, mp.parallelism), schedule_source);
    return featurize_all(s, m, nodes, stages);
}

} // namespace

std::vector<uint8_t> refeaturize_schedule(const Halide::Pipeline &p, const Halide::Target &t,
                                          const Halide::MachineParams &mp,
                                          const std::string &schedule_source) {
    std::unique_ptr<PipelineGraph> g;
    std::vector<int> nodes, stages;
    const std::vector<StageFeatures> feats =
        replayed_features(p, t, mp, schedule_source, &g, &nodes, &stages);
    return encode_featurization(nodes, stages, feats);
}

std::vector<StageEstimate> estimate_stored_schedule(const Halide::Pipeline &p, const Halide::Target &t,
                                                    const Halide::MachineParams &mp,
                                                    const std::string &schedule_source, CostModel &model,
                                                    std::vector<uint8_t> *featurization) {
    std::unique_ptr<PipelineGraph> g;
    std::vector<int> nodes, stages;
    const std::vector<StageFeatures> feats =
        replayed_features(p, t, mp, schedule_source, &g, &nodes, &stages);
    if (featurization) *featurization = encode_featurization(nodes, stages, feats);
    std::vector<double> seconds;
    model.predict(feats, &seconds);
    HARL_ASSERT(seconds.size() == feats.size(), "cost model " << model.name() << " returned "
                                                              << seconds.size() << " estimates for "
                                                              << feats.size() << " stages");
    std::vector<StageEstimate> out(feats.size());
    for (size_t i = 0; i < feats.size(); i++) {
        const Node &n = g->node(nodes[i]);
        out[i].func = n.name;
        out[i].stage = n.stages.at(stages[i]).name;
        out[i].features = feats[i];
        out[i].seconds = seconds[i];
    }
    return out;
}

std::string apply_stored_schedule(const Halide::Pipeline &p, const Halide::Target &t,
                                  const Halide::MachineParams &mp, const std::string &schedule_source) {
    std::string rfactor_source;
    const std::unique_ptr<PipelineGraph> g = analyse_pipeline(p, t, mp, &rfactor_source);
    const ScheduleState s = replay_decisions(*g, std::max(1, mp.parallelism), schedule_source);
    std::vector<Directive> ds = make_directives(s);
    apply_directives_and_storage_bounds(*g, p, t, s, &ds);
    return emit_schedule_source(*g, ds, "");
}

namespace {

// Predicted seconds of a complete schedule, costed as the beam search costs its states.
double predicted_seconds(const PipelineGraph &g, const ScheduleState &s, const MachineInfo &m,
                         CostModel &model) {
    std::vector<double> node_cost(g.num_nodes(), 0.0);
    cost_nodes(s, g.decision_order(), m, model, &node_cost);
    return std::accumulate(node_cost.begin(), node_cost.end(), 0.0);
}

// Beam search, and with the learned model (HARL_PORTFOLIO) a second one steered by the analytic
// model it corrects. The learned model ranks complete schedules better, but steering through
// partial schedules with it can end on a schedule it itself predicts slower than the one the
// analytic model's search finds (unseen dense block 9800004 on Zen 5: its pick ran 8.3 ms and
// was predicted 19.1, the analytic search's 7.1 ms, predicted 13.9). The learned model then
// picks between the two complete schedules.
SearchResult search(const PipelineGraph &g, const HarlOptions &opts, const MachineInfo &m, CostModel &model) {
    SearchResult res = beam_search(g, opts, m, model);
    if (!opts.portfolio) return res;
    const std::unique_ptr<CostModel> base = make_base_cost_model(m);
    if (model.name() == base->name()) return res;
    HarlOptions second = opts;
    second.time_budget_s = std::max(0.1 * opts.time_budget_s, opts.time_budget_s - res.seconds);
    SearchResult alt = beam_search(g, second, m, *base);
    const double own = predicted_seconds(g, res.best, m, model),
                 other = predicted_seconds(g, alt.best, m, model);
    if (opts.verbose >= 1) {
        std::cerr << "HARL: portfolio: the " << model.name() << " model predicts " << own * 1e3
                  << " ms for its own search's pick, " << other * 1e3 << " ms for the " << base->name()
                  << " search's; keeping the " << (other < own ? base->name() : model.name()) << " one\n";
    }
    res.states_evaluated += alt.states_evaluated;
    res.seconds += alt.seconds;
    res.budget_exhausted = res.budget_exhausted || alt.budget_exhausted;
    if (other < own) {
        res.best = alt.best;
        res.cost = other;
        res.finalists.insert(res.finalists.begin(), {alt.best, other});
    }
    return res;
}

} // namespace

AutoscheduleOutput autoschedule(const Halide::Pipeline &p, const Halide::Target &t,
                                const Halide::MachineParams &mp, const HarlOptions &opts) {
    if (!(runnable_here(t) == t)) {
        std::cerr << "HARL: warning: target " << t.to_string()
                  << " has avx512_sapphirerapids, but this CPU lacks AVX512-FP16 or AVX-VNNI: code "
                     "compiled for it dies of SIGILL here (Halide 14 takes AMD Zen 4 for Sapphire Rapids "
                     "with target=host); name the target without that feature if it is to run here\n";
    }
    std::string rfactor_source;
    const std::unique_ptr<PipelineGraph> graph = analyse_pipeline(p, t, mp, &rfactor_source);
    const PipelineGraph &g = *graph;
    if (opts.verbose >= 3) std::cerr << g.describe();
    MachineInfo m = make_machine_info(t, mp);
    auto model = make_cost_model(opts, m);
    if (m.gpu) {
        if (opts.measure > 0) {
            std::cerr << "HARL: warning: HARL_MEASURE is not supported for GPU targets yet (the RL pass and "
                         "measured tuning refine CPU schedules); scheduling with the cost model only\n";
        }
        return autoschedule_gpu(g, t, mp, opts, *model, rfactor_source);
    }
    SearchResult res = search(g, opts, m, *model);
    RefineOutcome refined = refine(g, p, t, mp, opts, m, *model, res);

    // StorageBounds lowers the schedule in a child first; where that lowering went through, it
    // was the lowering check (a lowering of a large pipeline takes seconds). Otherwise (a crash,
    // or no Func for the pass to bound) LoweringCheck runs, and the bounds are worked out again
    // for the schedule it falls back to.
    std::vector<Directive> ds = make_directives(res.best);
    const StorageHints hints = storage_hints(res.best);
    StorageBoundsResult bounded =
        storage_bound_directives_in_child(g, p, t, ds, hints, opts.measure_timeout_s);
    std::string lowering_note; // LoweringCheck's, where it fell back to a schedule without fused loops
    if (opts.check_lowering && !bounded.lowered) {
        LoweringCheck checked = check_lowering(g, p, t, res.best, opts.measure_timeout_s);
        if (!checked.note.empty()) {
            ds = std::move(checked.directives);
            lowering_note = checked.note;
            bounded = storage_bound_directives_in_child(g, p, t, ds, hints, opts.measure_timeout_s);
        }
    }
    ds.insert(ds.end(), bounded.bounds.begin(), bounded.bounds.end());
    apply_directives(g, ds);

    AutoscheduleOutput out;
    out.predicted_seconds = res.cost;
    out.search_seconds = res.seconds;
    out.states_evaluated = res.states_evaluated;
    out.measured = refined.measured;
    out.measured_seconds = refined.measured_seconds;
    out.summary = res.best.describe();
    out.schedule_source =
        emit_schedule_source(g, ds,
                             header_comment(t, mp, opts, *model, res.cost, out.summary, rfactor_source) +
                                 refined.note + lowering_note);

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
    if (opts.verbose >= 1 && !refined.note.empty()) {
        std::cerr << "HARL: " << refined.note.substr(3) << "HARL: refinement took " << refined.seconds
                  << " s\n";
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
