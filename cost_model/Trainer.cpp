#include "Trainer.h"
#include "../autoscheduler/Errors.h"
#include "Hash.h"
#include "StageMlp.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

namespace harl {
namespace {

// One pipeline's samples as tensors: every stage row's raw inputs (the last column is the log
// analytic estimate), the sample each row belongs to, and the measured log runtime of each.
struct PipelineTensors {
    torch::Tensor inputs;      // rows x (features + 1)
    torch::Tensor terms;       // rows x 3: AnalyticTerms (seconds), for models with term outputs
    torch::Tensor row_sample;  // rows (int64)
    torch::Tensor log_runtime; // samples
    std::vector<double> runtime;
    long samples = 0;
    // Profiled samples (TrainingSample::func_share): their stage rows, the (sample, Func) group
    // of each such row, and per group its sample, measured log share and weight (the share).
    torch::Tensor profiled_rows, row_group, group_sample, group_log_share, group_weight;
    long groups = 0, profiled_samples = 0;
};

// The profiled samples' groups as tensors (PipelineTensors' profile members).
void profile_tensors(const TrainingPipeline &p, PipelineTensors *t) {
    std::vector<int64_t> rows, row_group, group_sample;
    std::vector<float> log_share, weight;
    int64_t row = 0;
    for (size_t s = 0; s < p.samples.size(); s++) {
        const TrainingSample &sm = p.samples[s];
        if (sm.func_share.empty()) {
            row += (int64_t)sm.stages.size();
            continue;
        }
        HARL_ASSERT(sm.stage_func.size() == sm.stages.size(),
                    p.key << " candidate " << sm.candidate << ": a profile of " << sm.stage_func.size()
                          << " stages for " << sm.stages.size());
        const int64_t first_group = (int64_t)group_sample.size();
        for (double share : sm.func_share) {
            group_sample.push_back((int64_t)s);
            log_share.push_back((float)std::log(std::max(share, 1e-3)));
            weight.push_back((float)share);
        }
        for (int f : sm.stage_func) {
            HARL_ASSERT(f >= 0 && f < (int)sm.func_share.size(), p.key << ": stage of Func " << f);
            rows.push_back(row++);
            row_group.push_back(first_group + f);
        }
        t->profiled_samples++;
    }
    if (rows.empty()) return;
    auto ints = [](std::vector<int64_t> &v) {
        return torch::from_blob(v.data(), {(long)v.size()}, torch::kInt64).clone();
    };
    auto floats = [](std::vector<float> &v) {
        return torch::from_blob(v.data(), {(long)v.size()}, torch::kFloat32).clone();
    };
    t->profiled_rows = ints(rows);
    t->row_group = ints(row_group);
    t->group_sample = ints(group_sample);
    t->group_log_share = floats(log_share);
    t->group_weight = floats(weight);
    t->groups = (long)group_sample.size();
}

PipelineTensors to_tensors(const TrainingPipeline &p, int features, int outputs) {
    PipelineTensors t;
    std::vector<float> in, terms;
    std::vector<int64_t> owner;
    std::vector<float> lr;
    for (size_t s = 0; s < p.samples.size(); s++) {
        const TrainingSample &sm = p.samples[s];
        std::vector<double> analytic;
        std::vector<AnalyticTerms> stage_terms;
        base_estimates(*make_base_cost_model(sm.machine), sm.machine, sm.stages, &analytic,
                       outputs == kTermOutputs ? &stage_terms : nullptr);
        for (size_t i = 0; i < sm.stages.size(); i++) {
            size_t at = in.size();
            in.resize(at + features + 1);
            model_inputs(sm.stages[i], features, analytic[i], &in[at]);
            owner.push_back((int64_t)s);
        }
        for (const AnalyticTerms &a : stage_terms)
            terms.insert(terms.end(), {(float)a.compute, (float)a.memory, (float)a.overhead});
        lr.push_back((float)std::log(sm.runtime_s));
        t.runtime.push_back(sm.runtime_s);
    }
    long rows = (long)owner.size();
    t.inputs = torch::from_blob(in.data(), {rows, (long)features + 1}, torch::kFloat32).clone();
    if (outputs == kTermOutputs) {
        t.terms = torch::from_blob(terms.data(), {rows, (long)kTermOutputs}, torch::kFloat32).clone();
    }
    t.row_sample = torch::from_blob(owner.data(), {rows}, torch::kInt64).clone();
    t.log_runtime = torch::from_blob(lr.data(), {(long)lr.size()}, torch::kFloat32).clone();
    t.samples = (long)p.samples.size();
    profile_tensors(p, &t);
    return t;
}

// Predicted seconds of every stage row of a pipeline's samples: its analytic estimate (or its
// terms, combined as AnalyticTerms::combine does) corrected by the network.
torch::Tensor predict_stage_seconds(StageMlp &mlp, const PipelineTensors &t) {
    const torch::Tensor corr = mlp->forward(t.inputs);
    torch::Tensor stage;
    if (corr.size(1) == 1) {
        stage = torch::exp(t.inputs.select(1, t.inputs.size(1) - 1) + corr.squeeze(1));
    } else {
        HARL_ASSERT(t.terms.defined() && corr.size(1) == kTermOutputs, "term outputs without analytic terms");
        const torch::Tensor v = t.terms * torch::exp(corr);
        const torch::Tensor compute = v.select(1, 0), memory = v.select(1, 1);
        stage = torch::maximum(compute, memory) + 0.25 * torch::minimum(compute, memory) + v.select(1, 2);
    }
    return stage;
}

// Predicted log runtime of each sample from its stages' predicted seconds.
torch::Tensor sample_log_runtime(const torch::Tensor &stage, const PipelineTensors &t) {
    torch::Tensor total = torch::zeros({t.samples}, torch::kFloat32).index_add(0, t.row_sample, stage);
    return torch::log(total + 1e-12);
}

torch::Tensor predict_log_runtime(StageMlp &mlp, const PipelineTensors &t) {
    return sample_log_runtime(predict_stage_seconds(mlp, t), t);
}

// TrainConfig::profile_weight's loss: per profiled sample, the measured-share-weighted squared
// error of each Func's predicted log share of the time of the sample's profiled Funcs; the
// mean over the pipeline's profiled samples.
torch::Tensor profile_loss(const torch::Tensor &stage, const PipelineTensors &t) {
    const torch::Tensor func = torch::zeros({t.groups}, torch::kFloat32)
                                   .index_add(0, t.row_group, stage.index_select(0, t.profiled_rows));
    const torch::Tensor total = torch::zeros({t.samples}, torch::kFloat32).index_add(0, t.group_sample, func);
    const torch::Tensor log_share =
        torch::log(func + 1e-12) - torch::log(total.index_select(0, t.group_sample) + 1e-12);
    return (t.group_weight * torch::square(log_share - t.group_log_share)).sum() / (double)t.profiled_samples;
}

torch::Tensor pipeline_loss(const torch::Tensor &y, const PipelineTensors &t, const TrainConfig &cfg) {
    torch::Tensor dt = t.log_runtime.unsqueeze(0) - t.log_runtime.unsqueeze(1); // [i][j] = t_j - t_i
    torch::Tensor dy = y.unsqueeze(0) - y.unsqueeze(1);
    // Pairs where j is measurably slower than i: want y_j > y_i.
    torch::Tensor w =
        (dt > std::log1p(cfg.min_pair_gap)).to(torch::kFloat32) * torch::clamp(dt, 0.0, cfg.pair_weight_cap);
    torch::Tensor rank = (w * torch::softplus(-dy)).sum() / torch::clamp(w.sum(), 1e-6);
    torch::Tensor err = y - t.log_runtime;
    if (cfg.centred_regression) err = err - err.mean();
    torch::Tensor reg = torch::mean(torch::square(err));
    torch::Tensor loss = rank + cfg.regression_weight * reg;
    if (cfg.listwise_weight > 0) {
        // Schedules 10% slower than the fastest get e^-1 of its share of the target.
        constexpr double kListwiseTemperature = 0.1;
        torch::Tensor target = torch::softmax(-t.log_runtime / kListwiseTemperature, 0);
        loss = loss - cfg.listwise_weight * (target * torch::log_softmax(-y, 0)).sum();
    }
    return loss;
}

RankingMetrics evaluate(StageMlp &mlp, const std::vector<PipelineTensors> &set) {
    torch::NoGradGuard g;
    std::vector<std::vector<double>> pred, meas;
    for (const auto &t : set) {
        torch::Tensor y = predict_log_runtime(mlp, t).contiguous();
        pred.emplace_back(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
        meas.push_back(t.runtime);
    }
    return ranking_metrics(pred, meas);
}

double score(const RankingMetrics &m) {
    return m.pairwise_accuracy + m.mean_kendall_tau + m.top1_within_10pct;
}

} // namespace

namespace {

// Inputs are normalised with the statistics of every row the ensemble trains on, shared by all
// members (an ensemble has one normalisation).
struct InputNormalisation {
    torch::Tensor mean, scale;
    explicit InputNormalisation(const std::vector<PipelineTensors> &trained_on) {
        std::vector<torch::Tensor> all;
        for (const PipelineTensors &t : trained_on)
            all.push_back(t.inputs);
        torch::Tensor x = torch::cat(all);
        mean = x.mean(0);
        scale = 1.0 / torch::clamp(x.std(0), 1e-3);
    }
};

// Trains one network from `seed`; returns it at its cfg.snapshots best validation epochs, best
// first.
std::vector<ModelWeights> train_member(const std::vector<PipelineTensors> &tr,
                                       const std::vector<PipelineTensors> &va, const InputNormalisation &norm,
                                       const TrainConfig &cfg, int member, TrainOutput *out,
                                       const std::function<void(const EpochReport &)> &on_epoch) {
    const uint64_t seed = cfg.seed + (uint64_t)member;
    torch::manual_seed(seed);
    std::mt19937_64 rng(seed);
    const double max_discount = cfg.max_discount > 0 ? cfg.max_discount : cfg.max_correction;
    StageMlp mlp(cfg.features + 1, cfg.hidden, cfg.hidden, cfg.max_correction, max_discount, cfg.outputs);
    {
        torch::NoGradGuard g;
        mlp->mean.copy_(norm.mean);
        mlp->scale.copy_(norm.scale);
    }
    torch::optim::Adam opt(mlp->parameters(),
                           torch::optim::AdamOptions(cfg.learning_rate).weight_decay(cfg.weight_decay));

    struct Snapshot {
        double score;
        int epoch;
        ModelWeights weights;
    };
    std::vector<Snapshot> best; // sorted, best first (an epoch always runs: never empty at the end)
    auto start = std::chrono::steady_clock::now();
    std::vector<size_t> order = member_training_pipelines(tr.size(), cfg.bootstrap, rng);
    for (int epoch = 1; epoch <= cfg.epochs; epoch++) {
        // Step decay of the learning rate over the last part of training.
        double lr = cfg.learning_rate * (epoch > 0.85 * cfg.epochs  ? 0.1
                                         : epoch > 0.6 * cfg.epochs ? 0.3
                                                                    : 1.0);
        for (auto &group : opt.param_groups())
            static_cast<torch::optim::AdamOptions &>(group.options()).lr(lr);
        mlp->train();
        std::shuffle(order.begin(), order.end(), rng);
        double loss_sum = 0;
        int batches = 0;
        for (size_t b = 0; b < order.size(); b += (size_t)cfg.batch_pipelines) {
            opt.zero_grad();
            torch::Tensor loss = torch::zeros({}, torch::kFloat32);
            int n = 0;
            for (size_t k = b; k < std::min(order.size(), b + (size_t)cfg.batch_pipelines); k++, n++) {
                const PipelineTensors &t = tr[order[k]];
                const torch::Tensor stage = predict_stage_seconds(mlp, t);
                loss = loss + pipeline_loss(sample_log_runtime(stage, t), t, cfg);
                if (cfg.profile_weight > 0 && t.groups > 0)
                    loss = loss + cfg.profile_weight * profile_loss(stage, t);
            }
            loss = loss / n;
            loss.backward();
            opt.step();
            loss_sum += loss.item<double>();
            batches++;
        }
        mlp->eval();
        EpochReport rep;
        rep.member = member;
        rep.epoch = epoch;
        rep.train_loss = loss_sum / std::max(1, batches);
        rep.validation = evaluate(mlp, va.empty() ? tr : va);
        rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        out->history.push_back(rep);
        const double sc = score(rep.validation);
        if ((int)best.size() < cfg.snapshots || sc > best.back().score) {
            auto at = std::find_if(best.begin(), best.end(), [&](const Snapshot &b) { return sc > b.score; });
            best.insert(at, Snapshot{sc, epoch, mlp->save()});
            if ((int)best.size() > cfg.snapshots) best.pop_back();
        }
        if (on_epoch) on_epoch(rep);
        if (cfg.minutes > 0 && rep.seconds > cfg.minutes * 60 / cfg.members) break;
    }
    std::vector<ModelWeights> kept;
    for (const Snapshot &b : best) {
        out->best_epochs.push_back(b.epoch);
        kept.push_back(b.weights);
    }
    return kept;
}

} // namespace

int pipeline_fold(const std::string &key, int folds) {
    HARL_ASSERT(folds >= 1, "folds " << folds);
    const std::string salted = key + "#fold"; // independent of harl-train's test/validation split
    return (int)(fnv1a(salted.data(), salted.size()) % (uint64_t)folds);
}

std::vector<size_t> member_training_pipelines(size_t n, bool bootstrap, std::mt19937_64 &rng) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    if (bootstrap && n > 0) {
        std::uniform_int_distribution<size_t> pick(0, n - 1);
        for (size_t &i : order)
            i = pick(rng);
    }
    return order;
}

TrainOutput train_cost_model(const std::vector<TrainingPipeline> &train,
                             const std::vector<TrainingPipeline> &val, const TrainConfig &cfg,
                             const std::function<void(const EpochReport &)> &on_epoch) {
    if (train.empty()) throw HarlError("no training pipelines (collect samples with harl-collect first)");
    HARL_ASSERT(cfg.max_correction > 0 && cfg.max_correction <= 20,
                "max_correction " << cfg.max_correction << " outside (0, 20]");
    HARL_ASSERT(cfg.max_discount <= 20, "max_discount " << cfg.max_discount << " outside (0, 20]");
    HARL_ASSERT(cfg.pair_weight_cap > 0, "pair_weight_cap " << cfg.pair_weight_cap << " must be positive");
    HARL_ASSERT(cfg.features > 0 && cfg.features <= kNumFeatures, "features " << cfg.features);
    HARL_ASSERT(cfg.members >= 1 && cfg.members <= 64, "members " << cfg.members << " outside [1, 64]");
    HARL_ASSERT(cfg.outputs == 1 || cfg.outputs == kTermOutputs, "outputs " << cfg.outputs);
    HARL_ASSERT(cfg.snapshots >= 1 && cfg.snapshots <= cfg.epochs && cfg.members * cfg.snapshots <= 64,
                "snapshots " << cfg.snapshots << ": at most the epochs, and members x snapshots in [1, 64]");
    HARL_ASSERT(std::fabs(cfg.pessimism) <= 10, "pessimism " << cfg.pessimism << " outside [-10, 10]");
    HARL_ASSERT(cfg.folds >= 0 && cfg.folds <= 64, "folds " << cfg.folds << " outside [0, 64]");
    HARL_ASSERT(cfg.profile_weight >= 0, "profile_weight " << cfg.profile_weight << " must be >= 0");
    // With folds, the validation pipelines train too: `tr` holds them all, `fold` their folds
    // (-1: train-only, never validates), and each member splits them by its fold.
    const bool cross = cfg.folds > 1;
    std::vector<PipelineTensors> tr, va;
    std::vector<int> fold;
    for (const auto &p : train) {
        tr.push_back(to_tensors(p, cfg.features, cfg.outputs));
        if (cross) fold.push_back(p.train_only ? -1 : pipeline_fold(p.key, cfg.folds));
    }
    for (const auto &p : val) {
        (cross ? tr : va).push_back(to_tensors(p, cfg.features, cfg.outputs));
        if (cross) fold.push_back(pipeline_fold(p.key, cfg.folds));
    }
    const InputNormalisation norm(tr);
    TrainOutput out;
    std::vector<ModelWeights> members;
    for (int k = 0; k < cfg.members; k++) {
        std::vector<PipelineTensors> member_tr, member_va;
        if (cross) {
            for (size_t i = 0; i < tr.size(); i++)
                (fold[i] == k % cfg.folds ? member_va : member_tr).push_back(tr[i]);
            if (member_tr.empty()) throw HarlError("a fold holds every training pipeline: use fewer --folds");
        }
        for (ModelWeights &w :
             train_member(cross ? member_tr : tr, cross ? member_va : va, norm, cfg, k, &out, on_epoch))
            members.push_back(std::move(w));
    }
    out.weights = ModelWeights::ensemble(members, (float)cfg.pessimism);
    return out;
}

RankingMetrics evaluate_cost_model(const std::vector<TrainingPipeline> &pipelines,
                                   const std::function<std::unique_ptr<CostModel>(const MachineInfo &)> &make,
                                   std::vector<std::vector<double>> *predicted) {
    std::vector<std::vector<double>> pred, meas;
    std::unique_ptr<CostModel> model;
    MachineInfo made_for;
    auto same = [](const MachineInfo &a, const MachineInfo &b) {
        return a.parallelism == b.parallelism && a.llc_bytes == b.llc_bytes && a.balance == b.balance &&
               a.vector_registers == b.vector_registers && a.avx512 == b.avx512 && a.gpu == b.gpu &&
               a.analytic == b.analytic;
    };
    for (const auto &p : pipelines) {
        pred.emplace_back();
        meas.emplace_back();
        for (const auto &s : p.samples) {
            if (!model || !same(made_for, s.machine)) { // one model per machine, not per sample
                model = make(s.machine);
                made_for = s.machine;
            }
            std::vector<double> secs;
            model->predict(s.stages, &secs);
            pred.back().push_back(std::accumulate(secs.begin(), secs.end(), 0.0));
            meas.back().push_back(s.runtime_s);
        }
    }
    if (predicted) *predicted = pred;
    return ranking_metrics(pred, meas);
}

} // namespace harl
