// The learned cost model: weights file checks (every error names the file and the problem),
// C++ inference against LibTorch, ranking metrics, training on a learnable signal, the dataset
// (resume, merge) and the child-process runner (crash, hang, exception).
#include "Autoscheduler.h"
#include "CandidateOptions.h"
#include "ChildProcessRunner.h"
#include "Dataset.h"
#include "Errors.h"
#include "Featurizer.h"
#include "FuncProfiles.h"
#include "GpuFeatureLayout.h"
#include "HostTarget.h"
#include "PipelineScale.h"
#include "RandomPipeline.h"
#include "ScheduleReplay.h"
#include "StageProfile.h"
#include "TempFile.h"
#include "TorchCostModel.h"
#include "Trainer.h"

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

// Files the tests write: named per process, and removed (with SQLite's -wal and -shm files)
// when the test program ends, so repeated `make test` runs leave nothing in the temp folder.
class TempFiles : public ::testing::Environment {
  public:
    static std::vector<std::string> &paths() {
        static std::vector<std::string> p;
        return p;
    }
    void TearDown() override {
        for (const std::string &p : paths()) {
            for (const char *suffix : {"", "-wal", "-shm", "-journal"})
                std::remove((p + suffix).c_str());
        }
    }
};
::testing::Environment *const temp_files = ::testing::AddGlobalTestEnvironment(new TempFiles);

std::string temp_path(const std::string &name) {
    std::string p = ::testing::TempDir() + "harl_" + std::to_string(getpid()) + "_" + name;
    TempFiles::paths().push_back(p);
    return p;
}

std::string read_file(const std::string &p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_file(const std::string &p, const std::string &bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << bytes;
}

// Small random weights; `shape` may change the layout, inputs or outputs before they are drawn.
harl::ModelWeights random_weights(uint64_t seed,
                                  const std::function<void(harl::ModelWeights &)> &shape = {}) {
    harl::ModelWeights w;
    w.hidden1 = 16;
    w.hidden2 = 8;
    if (shape) shape(w);
    w.allocate();
    std::mt19937 r((uint32_t)seed);
    std::normal_distribution<float> n(0, 0.3f);
    for (auto *t : {&w.w1, &w.b1, &w.w2, &w.b2, &w.w3, &w.b3, &w.mean})
        for (float &v : *t)
            v = n(r);
    w.metadata = "test";
    return w;
}

std::string load_error(const std::string &path) {
    try {
        harl::load_weights(path);
    } catch (const harl::HarlError &e) {
        return e.what();
    }
    return "";
}

// Per-stage features of real schedules: a random pipeline scheduled with a few seeds.
std::vector<std::vector<harl::StageFeatures>> real_features(int pipelines, int schedules) {
    std::vector<std::vector<harl::StageFeatures>> out;
    for (int p = 0; p < pipelines; p++) {
        for (int k = 0; k < schedules; k++) {
            harl::RandomPipeline rp = harl::make_random_pipeline(100 + p, 2, 6);
            harl::HarlOptions o;
            o.cost_model = "analytic";
            o.seed = k;
            o.randomize = k ? 0.5 : 0.0;
            auto res = harl::autoschedule(Halide::Pipeline(rp.output), harl::host_target(),
                                          Halide::MachineParams(2, 32 << 20, 40), o);
            out.push_back(harl::decode_featurization(res.featurization));
        }
    }
    return out;
}

} // namespace

TEST(Weights, RoundTripKeepsEveryValue) {
    std::string p = temp_path("rt.weights");
    harl::ModelWeights w = random_weights(1);
    harl::save_weights(p, w);
    harl::ModelWeights r = harl::load_weights(p);
    EXPECT_EQ(r.hidden1, 16);
    EXPECT_EQ(r.hidden2, 8);
    EXPECT_EQ(r.w1, w.w1);
    EXPECT_EQ(r.b3, w.b3);
    EXPECT_EQ(r.metadata, "test");

    // The squashing bounds travel with the weights; version-2 files (without max_discount)
    // meant max_correction on both sides, version-1 files (without either) 4.
    w.max_correction = 1.5f;
    w.max_discount = 0.5f;
    harl::save_weights(p, w);
    EXPECT_EQ(harl::load_weights(p).max_correction, 1.5f);
    EXPECT_EQ(harl::load_weights(p).max_discount, 0.5f);
    // Version-4 files (without the outputs field after pessimism) have one output per stage.
    std::string v4 = read_file(p);
    v4[8] = 4;
    v4.erase(44, 4); // after magic, five u32 fields, max_correction, max_discount, members, pessimism
    write_file(p, v4);
    r = harl::load_weights(p);
    EXPECT_EQ(r.outputs, 1);
    EXPECT_EQ(r.w3, w.w3);
    std::string v2 = read_file(p);
    v2[8] = 2;        // format version
    v2.erase(32, 12); // max_discount, members, pessimism
    write_file(p, v2);
    r = harl::load_weights(p);
    EXPECT_EQ(r.max_correction, 1.5f);
    EXPECT_EQ(r.max_discount, 1.5f);
    EXPECT_EQ(r.w1, w.w1);
    std::string v1 = v2;
    v1[8] = 1;
    v1.erase(28, 4);
    write_file(p, v1);
    r = harl::load_weights(p);
    EXPECT_EQ(r.max_correction, harl::kVersion1MaxCorrection);
    EXPECT_EQ(r.max_discount, harl::kVersion1MaxCorrection);
    EXPECT_EQ(r.w1, w.w1);
}

// Ensembles: members travel in one file, each recoverable alone; the C++ and LibTorch inference
// combine them the same way (mean, plus pessimism times their spread).
TEST(Weights, EnsembleRoundTripsAndCombinesItsMembers) {
    std::vector<harl::ModelWeights> members = {random_weights(11), random_weights(12), random_weights(13)};
    for (auto &m : members) {
        m.mean = members[0].mean; // trained alike: one input normalisation
        m.max_correction = 1.0f;
        m.max_discount = 0.4f;
    }
    harl::ModelWeights w = harl::ModelWeights::ensemble(members, 0.5f);
    EXPECT_EQ(w.members, 3);
    std::string p = temp_path("ens.weights");
    harl::save_weights(p, w);
    harl::ModelWeights r = harl::load_weights(p);
    EXPECT_EQ(r.members, 3);
    EXPECT_EQ(r.pessimism, 0.5f);
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(r.member(k).w1, members[k].w1) << "member " << k;
        EXPECT_EQ(r.member(k).b3, members[k].b3) << "member " << k;
    }
    const double c[3] = {0.1, 0.2, 0.6};
    EXPECT_NEAR(harl::combine_corrections(c, 3, 0), 0.3, 1e-12);
    EXPECT_NEAR(harl::combine_corrections(c, 3, 2), 0.3 + 2 * std::sqrt(0.07), 1e-12);
    EXPECT_NEAR(harl::combine_corrections(c, 1, 2), 0.1, 1e-12); // one member: no spread

    harl::MachineInfo m;
    auto cpp = harl::make_learned_cost_model(m, r);
    auto torch = harl::make_torch_cost_model(m, r);
    std::vector<std::unique_ptr<harl::CostModel>> singles;
    for (int k = 0; k < 3; k++)
        singles.push_back(harl::make_learned_cost_model(m, r.member(k)));
    auto analytic = harl::make_analytic_cost_model(m);
    int compared = 0;
    for (const auto &stages : real_features(2, 2)) {
        std::vector<double> a, b, base;
        cpp->predict(stages, &a);
        torch->predict(stages, &b);
        analytic->predict(stages, &base);
        std::vector<std::vector<double>> one(3);
        for (int k = 0; k < 3; k++)
            singles[k]->predict(stages, &one[k]);
        for (size_t i = 0; i < a.size(); i++, compared++) {
            EXPECT_NEAR(a[i] / b[i], 1.0, 1e-3) << "stage " << i;
            double ck[3];
            for (int k = 0; k < 3; k++)
                ck[k] = std::log(one[k][i] / base[i]);
            EXPECT_NEAR(std::log(a[i] / base[i]), harl::combine_corrections(ck, 3, 0.5), 1e-4)
                << "stage " << i;
        }
    }
    EXPECT_GT(compared, 4);

    std::vector<harl::ModelWeights> mismatched = {members[0], random_weights(14)};
    EXPECT_THROW(harl::ModelWeights::ensemble(mismatched, 0), std::exception); // other normalisation
}

// Two ensembles trained alike from different seeds merge into one of all their members, in
// order; weights trained on other data (another input normalisation) or with other bounds are
// refused with an error that names the file and what differs.
TEST(Weights, MergedEnsemblesKeepEveryMemberInOrder) {
    std::vector<harl::ModelWeights> members = {random_weights(21), random_weights(22), random_weights(23)};
    for (auto &m : members)
        m.mean = members[0].mean;
    const harl::ModelWeights a = harl::ModelWeights::ensemble({members[0], members[1]}, 0);
    const harl::ModelWeights b = harl::ModelWeights::ensemble({members[2]}, 0);
    const harl::ModelWeights w = harl::merge_ensembles({a, b}, {"a.weights", "b.weights"});
    ASSERT_EQ(w.members, 3);
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(w.member(k).w1, members[k].w1) << "member " << k;
        EXPECT_EQ(w.member(k).b3, members[k].b3) << "member " << k;
    }
    harl::ModelWeights other = b;
    other.mean[0] += 1.0f;
    try {
        harl::merge_ensembles({a, other}, {"a.weights", "other.weights"});
        FAIL() << "weights with another input normalisation were merged";
    } catch (const harl::HarlError &e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("other.weights"), std::string::npos) << msg;
        EXPECT_NE(msg.find("normalisation"), std::string::npos) << msg;
    }
    other = b;
    other.max_discount = 0.1f;
    EXPECT_THROW(harl::merge_ensembles({a, other}, {"a.weights", "other.weights"}), harl::HarlError);
}

TEST(Weights, CorrectionBoundsAreAsymmetric) {
    EXPECT_NEAR(harl::bounded_correction(100, 2, 0.5), 2, 1e-9);
    EXPECT_NEAR(harl::bounded_correction(-100, 2, 0.5), -0.5, 1e-9);
    EXPECT_NEAR(harl::bounded_correction(1e-4, 2, 0.5), 1e-4, 1e-8); // slope 1 at 0
    EXPECT_NEAR(harl::bounded_correction(-1e-4, 2, 0.5), -1e-4, 1e-8);
    // A network whose raw output is a large constant: the learned model's estimate is the
    // analytic one times e^max_correction for a positive output, e^-max_discount for a negative.
    harl::ModelWeights w = random_weights(5);
    w.max_correction = 2.0f;
    w.max_discount = 0.25f;
    std::fill(w.w3.begin(), w.w3.end(), 0.0f);
    harl::MachineInfo m;
    auto analytic = harl::make_analytic_cost_model(m);
    for (float bias : {50.0f, -50.0f}) {
        w.b3[0] = bias;
        auto learned = harl::make_learned_cost_model(m, w);
        auto torch = harl::make_torch_cost_model(m, w);
        for (const auto &stages : real_features(1, 2)) {
            std::vector<double> a, l, t;
            analytic->predict(stages, &a);
            learned->predict(stages, &l);
            torch->predict(stages, &t);
            for (size_t i = 0; i < a.size(); i++) {
                EXPECT_NEAR(l[i] / a[i], std::exp(bias > 0 ? 2.0 : -0.25), 1e-4) << "stage " << i;
                EXPECT_NEAR(t[i] / a[i], std::exp(bias > 0 ? 2.0 : -0.25), 1e-4) << "stage " << i;
            }
        }
    }
}

TEST(Weights, BadFilesGiveClearErrors) {
    std::string p = temp_path("bad.weights");
    harl::save_weights(p, random_weights(2));
    const std::string good = read_file(p);

    std::string missing = load_error(temp_path("does_not_exist.weights"));
    EXPECT_NE(missing.find("does_not_exist.weights"), std::string::npos) << missing;
    EXPECT_NE(missing.find("missing"), std::string::npos) << missing;

    write_file(p, good.substr(0, good.size() - 10));
    std::string truncated = load_error(p);
    EXPECT_NE(truncated.find(p), std::string::npos) << truncated;
    EXPECT_NE(truncated.find("truncated"), std::string::npos) << truncated;
    write_file(p, good.substr(0, 12));
    EXPECT_NE(load_error(p).find("truncated"), std::string::npos) << load_error(p);

    std::string corrupt = good;
    corrupt[corrupt.size() - 5] ^= 0x40;
    write_file(p, corrupt);
    EXPECT_NE(load_error(p).find("checksum"), std::string::npos) << load_error(p);

    std::string other_layout = good;
    other_layout[12] = 99; // feature layout version
    write_file(p, other_layout);
    EXPECT_NE(load_error(p).find("feature layout version 99"), std::string::npos) << load_error(p);

    std::string other_inputs = good;
    other_inputs[16] = 7; // inputs per stage
    write_file(p, other_inputs);
    EXPECT_NE(load_error(p).find("7 inputs per stage"), std::string::npos) << load_error(p);

    write_file(p, "#!/bin/sh\necho not weights\n");
    EXPECT_NE(load_error(p).find("not a HARL weights file"), std::string::npos) << load_error(p);
}

TEST(Weights, HarlWeightsOptionReportsTheFile) {
    std::string p = temp_path("opt.weights");
    write_file(p, "garbage");
    harl::RandomPipeline rp = harl::make_random_pipeline(1, 2, 4);
    harl::HarlOptions o;
    o.weights = p;
    try {
        harl::autoschedule(Halide::Pipeline(rp.output), harl::host_target(),
                           Halide::MachineParams(2, 32 << 20, 40), o);
        FAIL() << "a garbage weights file was accepted";
    } catch (const harl::HarlError &e) {
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

TEST(Weights, ShippedWeightsLoadAndSchedule) {
    harl::ModelWeights w = harl::shipped_weights();
    EXPECT_EQ(w.inputs, harl::num_features_of_layout(w.layout_version) + 1);
    EXPECT_FALSE(w.metadata.empty());
    harl::RandomPipeline rp = harl::make_random_pipeline(3, 2, 6);
    harl::HarlOptions o;
    EXPECT_EQ(o.cost_model, "auto"); // the default: on a CPU target, the shipped weights
    auto res = harl::autoschedule(Halide::Pipeline(rp.output), harl::host_target(),
                                  Halide::MachineParams(2, 32 << 20, 40), o);
    EXPECT_NE(res.schedule_source.find("cost model learned"), std::string::npos);
    EXPECT_GT(res.predicted_seconds, 0);
}

// x86 targets with AVX-512 get the weights trained on an AVX-512 machine, every other CPU
// target the AVX2 ones; both parse, and the default model of each target uses its own.
TEST(Weights, Avx512TargetsGetTheirOwnShippedWeights) {
    const Halide::MachineParams mp(2, 32 << 20, 40);
    const harl::MachineInfo avx512 = harl::make_machine_info(
        harl::target_named("x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41"), mp);
    const harl::MachineInfo avx2 =
        harl::make_machine_info(harl::target_named("x86-64-linux-avx-avx2-f16c-fma-sse41"), mp);
    const harl::MachineInfo arm = harl::make_machine_info(harl::target_named("arm-64-linux"), mp);
    EXPECT_TRUE(avx512.avx512);
    EXPECT_FALSE(avx2.avx512);
    EXPECT_FALSE(arm.avx512);
    const harl::ModelWeights generic = harl::shipped_weights(), wide = harl::shipped_avx512_weights();
    EXPECT_NE(generic.metadata, wide.metadata) << "two different files are embedded";
    EXPECT_EQ(wide.inputs, harl::num_features_of_layout(wide.layout_version) + 1);
    EXPECT_EQ(harl::shipped_weights_for(avx512).metadata, wide.metadata);
    EXPECT_EQ(harl::shipped_weights_for(avx2).metadata, generic.metadata);
    EXPECT_EQ(harl::shipped_weights_for(arm).metadata, generic.metadata);
    // The default (auto) model of each target is the learned one with its target's weights.
    harl::HarlOptions o;
    for (const auto &stages : real_features(1, 2)) {
        std::vector<double> by_default, by_wide, by_generic;
        harl::make_cost_model(o, avx512)->predict(stages, &by_default);
        harl::make_learned_cost_model(avx512, wide)->predict(stages, &by_wide);
        harl::make_learned_cost_model(avx512, generic)->predict(stages, &by_generic);
        EXPECT_EQ(by_default, by_wide);
        EXPECT_NE(by_default, by_generic);
    }
}

TEST(LearnedModel, CppInferenceMatchesLibTorch) {
    harl::ModelWeights w = random_weights(3);
    w.max_correction = 1.0f; // both sides of the squashing, with different bounds
    w.max_discount = 0.3f;
    harl::MachineInfo m;
    auto cpp = harl::make_learned_cost_model(m, w);
    auto torch = harl::make_torch_cost_model(m, w);
    int compared = 0;
    for (const auto &stages : real_features(2, 2)) {
        std::vector<double> a, b;
        cpp->predict(stages, &a);
        torch->predict(stages, &b);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); i++, compared++)
            EXPECT_NEAR(a[i] / b[i], 1.0, 1e-3) << "stage " << i;
    }
    EXPECT_GT(compared, 4);
}

// The search scores stages in batches, a block of rows at a time; a stage's prediction must not
// depend on the batch it came in (the rows of all four schedules at once, then each alone).
TEST(LearnedModel, BatchesPredictEachStageExactlyAsAlone) {
    const harl::ModelWeights w = harl::shipped_avx512_weights(); // an ensemble
    ASSERT_GT(w.members, 1);
    auto model = harl::make_learned_cost_model(harl::MachineInfo(), w);
    std::vector<harl::StageFeatures> all;
    for (const auto &stages : real_features(2, 2))
        all.insert(all.end(), stages.begin(), stages.end());
    while (all.size() < 40) // more than two blocks, the last one partly filled
        all.insert(all.end(), all.begin(), all.end());
    std::vector<double> batched;
    model->predict(all, &batched);
    ASSERT_EQ(batched.size(), all.size());
    for (size_t i = 0; i < all.size(); i++) {
        std::vector<double> alone;
        model->predict({all[i]}, &alone);
        EXPECT_EQ(batched[i], alone[0]) << "stage row " << i;
    }
}

// Weights of feature layout 1 read the first kNumFeaturesLayout1 entries of today's vectors
// (later layouts only append), in both inferences; current weights read every entry; a file
// whose input count does not fit its layout is refused. (Only appended entries the analytic
// model ignores are changed: the analytic estimate every network also reads uses some of the
// later layouts' entries, such as the line traffic, gathers and scattered stores.)
TEST(LearnedModel, OlderLayoutWeightsReadTheirPrefix) {
    const harl::ModelWeights old = random_weights(5, [](harl::ModelWeights &w) {
        w.layout_version = 1;
        w.inputs = harl::kNumFeaturesLayout1 + 1;
    });
    const std::string p = temp_path("layout1.weights");
    harl::save_weights(p, old);
    const harl::ModelWeights loaded = harl::load_weights(p);
    EXPECT_EQ(loaded.inputs, harl::kNumFeaturesLayout1 + 1);
    harl::MachineInfo m;
    const std::vector<harl::StageFeatures> stages = real_features(1, 1).front();
    std::vector<harl::StageFeatures> changed = stages;
    for (auto &f : changed)
        for (int i : {harl::F_short_stride_loads, harl::F_irregular_loads, harl::F_tile_padding,
                      harl::F_scalar_dense_inner_extent})
            f[i] += 100.0f;
    for (const harl::ModelWeights &w : {loaded, random_weights(6)}) {
        const bool reads_all = w.inputs == harl::kModelInputs;
        std::vector<std::unique_ptr<harl::CostModel>> models;
        models.push_back(harl::make_learned_cost_model(m, w));
        models.push_back(harl::make_torch_cost_model(m, w));
        for (auto &model : models) {
            std::vector<double> a, b;
            model->predict(stages, &a);
            model->predict(changed, &b);
            double diff = 0;
            for (size_t i = 0; i < a.size(); i++)
                diff += std::fabs(a[i] / b[i] - 1);
            if (reads_all) {
                EXPECT_GT(diff, 1e-3) << "current weights ignore the appended features";
            } else {
                EXPECT_EQ(diff, 0) << "layout-1 weights read appended features";
            }
        }
    }
    // Given as HARL_WEIGHTS, they schedule a CPU pipeline.
    harl::RandomPipeline rp = harl::make_random_pipeline(3, 2, 4);
    harl::HarlOptions o;
    o.weights = p;
    o.check_lowering = false;
    const auto res = harl::autoschedule(Halide::Pipeline(rp.output), harl::host_target(),
                                        Halide::MachineParams(2, 32 << 20, 40), o);
    EXPECT_NE(res.schedule_source.find("cost model learned"), std::string::npos);
    std::string bad = read_file(p);
    bad[16] = (char)(harl::kModelInputs); // layout 1 with today's input count
    write_file(p, bad);
    EXPECT_NE(load_error(p).find("feature layout 1 has"), std::string::npos) << load_error(p);
}

TEST(LearnedModel, UntrainedCorrectionIsTheAnalyticModel) {
    harl::ModelWeights w = random_weights(4);
    std::fill(w.w3.begin(), w.w3.end(), 0.0f);
    w.b3[0] = 0;
    harl::MachineInfo m;
    auto learned = harl::make_learned_cost_model(m, w);
    auto analytic = harl::make_analytic_cost_model(m);
    for (const auto &stages : real_features(1, 2)) {
        std::vector<double> a, b;
        learned->predict(stages, &a);
        analytic->predict(stages, &b);
        for (size_t i = 0; i < a.size(); i++)
            EXPECT_DOUBLE_EQ(a[i], b[i]);
    }
}

// --terms weights: three outputs per stage correct the CPU analytic model's compute, memory and
// overhead terms before they are combined. Untrained, they are the analytic model; a bias on one
// output scales that term alone; both inferences agree; the file keeps the output count; GPU
// targets and ensembles of both kinds are refused.
TEST(LearnedModel, TermOutputsCorrectEachAnalyticTerm) {
    harl::ModelWeights w = random_weights(7, [](harl::ModelWeights &x) { x.outputs = harl::kTermOutputs; });
    w.max_correction = 1.0f;
    w.max_discount = 0.3f;
    const std::string p = temp_path("terms.weights");
    harl::save_weights(p, w);
    const harl::ModelWeights back = harl::load_weights(p);
    EXPECT_EQ(back.outputs, harl::kTermOutputs);
    EXPECT_EQ(back.w3.size(), (size_t)harl::kTermOutputs * back.hidden2);
    EXPECT_EQ(back.w3, w.w3);
    EXPECT_EQ(back.b3, w.b3);
    std::remove(p.c_str());

    harl::MachineInfo m;
    const auto analytic = harl::make_analytic_cost_model(m);
    const auto cpp = harl::make_learned_cost_model(m, back);
    const auto torch = harl::make_torch_cost_model(m, back);
    harl::ModelWeights untrained = back, memory_x2 = back;
    std::fill(untrained.w3.begin(), untrained.w3.end(), 0.0f);
    std::fill(untrained.b3.begin(), untrained.b3.end(), 0.0f);
    memory_x2.w3 = untrained.w3;
    memory_x2.b3 = {0.0f, 0.0f, 0.0f};
    memory_x2.max_correction = 20.0f; // so that tanh barely squashes the bias below
    memory_x2.b3[1] = (float)std::log(2.0);
    const auto zero = harl::make_learned_cost_model(m, untrained);
    const auto twice = harl::make_learned_cost_model(m, memory_x2);
    int compared = 0, memory_bound = 0;
    for (const auto &stages : real_features(2, 2)) {
        std::vector<double> a, b, base, z, x2;
        cpp->predict(stages, &a);
        torch->predict(stages, &b);
        analytic->predict(stages, &base);
        zero->predict(stages, &z);
        twice->predict(stages, &x2);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); i++, compared++) {
            EXPECT_NEAR(a[i] / b[i], 1.0, 1e-3) << "stage " << i;
            const harl::AnalyticTerms t = harl::analytic_terms(m, stages[i]);
            EXPECT_EQ(t.seconds(), base[i]) << "stage " << i;
            EXPECT_EQ(z[i], base[i]) << "stage " << i;
            const double c = 20.0 * std::tanh(std::log(2.0) / 20.0);
            EXPECT_NEAR(x2[i] / harl::AnalyticTerms::combine(t.compute, t.memory * std::exp(c), t.overhead),
                        1.0, 1e-5)
                << "stage " << i;
            memory_bound += t.memory > t.compute;
        }
    }
    EXPECT_GT(compared, 4);
    EXPECT_GT(memory_bound, 0);

    harl::MachineInfo gpu;
    gpu.gpu = true;
    EXPECT_THROW(harl::make_learned_cost_model(gpu, back), harl::HarlError);
    harl::ModelWeights one = back;
    one.outputs = 1;
    one.allocate();
    EXPECT_THROW(harl::merge_ensembles({back, one}, {"terms.weights", "one.weights"}), harl::HarlError);
}

TEST(RankingMetrics, PerfectReversedAndTop1) {
    auto perfect = harl::ranking_metrics({{1, 2, 3}, {5, 4}}, {{10, 20, 30}, {50, 40}});
    EXPECT_DOUBLE_EQ(perfect.pairwise_accuracy, 1.0);
    EXPECT_DOUBLE_EQ(perfect.mean_kendall_tau, 1.0);
    EXPECT_DOUBLE_EQ(perfect.top1_within_10pct, 1.0);
    EXPECT_EQ(perfect.pipelines, 2);
    EXPECT_EQ(perfect.pairs, 4);
    auto reversed = harl::ranking_metrics({{3, 2, 1}}, {{10, 20, 30}});
    EXPECT_DOUBLE_EQ(reversed.pairwise_accuracy, 0.0);
    EXPECT_DOUBLE_EQ(reversed.mean_kendall_tau, -1.0);
    EXPECT_DOUBLE_EQ(reversed.top1_within_10pct, 0.0);
    // Predicted best measures 10.5 against a best of 10: within 10%.
    auto near = harl::ranking_metrics({{1, 2, 3}}, {{10.5, 10, 30}});
    EXPECT_DOUBLE_EQ(near.top1_within_10pct, 1.0);
    EXPECT_NEAR(near.pairwise_accuracy, 2.0 / 3.0, 1e-12);
    EXPECT_NEAR(near.pairwise_accuracy_5pct, 1.0, 1e-12); // the 5% tie is left out
}

// Training pipelines of 4 consecutive schedules of `feats` each: a sample's runtime is the sum
// of its stages' analytic estimates, each times factor(schedule, stage). The first
// `train_pipelines` go to `train`, the rest to `val`.
// A small network trained for a few epochs, one pipeline per step: enough for tests.
static harl::TrainConfig small_config(int epochs) {
    harl::TrainConfig cfg;
    cfg.epochs = epochs;
    cfg.hidden = 8;
    cfg.batch_pipelines = 1;
    return cfg;
}

static void synthetic_pipelines(const std::vector<std::vector<harl::StageFeatures>> &feats,
                                size_t train_pipelines, const std::function<double(size_t, size_t)> &factor,
                                std::vector<harl::TrainingPipeline> *train,
                                std::vector<harl::TrainingPipeline> *val) {
    harl::MachineInfo m;
    auto analytic = harl::make_analytic_cost_model(m);
    for (size_t i = 0; i < feats.size(); i += 4) {
        harl::TrainingPipeline p;
        p.key = "p" + std::to_string(i);
        for (size_t k = i; k < i + 4; k++) {
            std::vector<double> secs;
            analytic->predict(feats[k], &secs);
            harl::TrainingSample s;
            s.stages = feats[k];
            s.machine = m;
            for (size_t st = 0; st < secs.size(); st++)
                s.runtime_s += secs[st] * factor(k, st);
            p.samples.push_back(s);
        }
        (i / 4 < train_pipelines ? train : val)->push_back(p);
    }
}

// Runtimes that the analytic model cannot rank (a hidden factor of one schedule feature)
// must be learned: the trained model ranks held-out pipelines better than the analytic one.
TEST(Trainer, LearnsAHiddenFactorOnHeldOutPipelines) {
    auto feats = real_features(24, 4);
    std::vector<harl::TrainingPipeline> train, val;
    // Stages with small inner tiles are 4x slower than the analytic model says, the others 2x
    // faster (a factor the randomised searches vary within a pipeline).
    synthetic_pipelines(
        feats, 14,
        [&](size_t k, size_t st) { return feats[k][st][harl::F_inner_tile_points] < 64 ? 4.0 : 0.5; }, &train,
        &val);
    harl::TrainConfig cfg;
    cfg.epochs = 60;
    cfg.hidden = 16;
    cfg.batch_pipelines = 2;
    cfg.learning_rate = 3e-3;
    cfg.members = 2; // an ensemble: each member trained alike, from its own seed
    int epochs = 0;
    harl::TrainOutput out =
        harl::train_cost_model(train, val, cfg, [&](const harl::EpochReport &) { epochs++; });
    EXPECT_EQ(epochs, 120);
    ASSERT_EQ(out.history.size(), 120u);
    EXPECT_EQ(out.history.back().member, 1);
    EXPECT_EQ(out.best_epochs.size(), 2u);
    EXPECT_EQ(out.weights.members, 2);
    EXPECT_NE(out.weights.member(0).w1, out.weights.member(1).w1);
    EXPECT_LT(out.history.back().train_loss, out.history.front().train_loss);
    auto learned = harl::evaluate_cost_model(
        val, [&](const harl::MachineInfo &mi) { return harl::make_learned_cost_model(mi, out.weights); });
    auto base = harl::evaluate_cost_model(
        val, [&](const harl::MachineInfo &mi) { return harl::make_analytic_cost_model(mi); });
    EXPECT_LT(base.pairwise_accuracy, 0.9) << "the hidden factor must reorder some schedules";
    // By at least one pair more of the 60: across training seeds the learned model ranks
    // 0.767-0.8 of them (the analytic model 0.75, 0.767 since it charges heap allocations), so
    // a fixed bar of 0.8 was a coin toss. Compared in whole pairs (47/60 is not 46/60 + 1/60 in
    // floating point).
    EXPECT_GE(std::lround(learned.pairwise_accuracy * learned.pairs),
              std::lround(base.pairwise_accuracy * base.pairs) + 1)
        << "analytic " << base.pairwise_accuracy;
    std::cout << "held-out pairwise: learned " << learned.pairwise_accuracy << ", analytic "
              << base.pairwise_accuracy << " (" << learned.pairs << " pairs)\n";
}

TEST(Dataset, ResumesAndMergesWithoutLoss) {
    std::string a = temp_path("a.db"), b = temp_path("b.db"), merged = temp_path("m.db");
    for (auto p : {a, b, merged})
        std::remove(p.c_str());
    auto fill = [](const std::string &path, const std::string &key, int n) {
        harl::Dataset db(path);
        db.begin_pipeline(key, 1, 1, 2, 3, "conv3x3 blur");
        for (int k = 0; k < n; k++) {
            harl::ScheduleRecord s;
            s.pipeline = key;
            s.candidate = k;
            s.source_hash = std::to_string(k);
            harl::SampleRecord m;
            m.pipeline = key;
            m.candidate = k;
            m.machine = "test";
            m.status = k == 1 ? "crashed" : "ok";
            m.runtime_s = 0.001 * (k + 1);
            m.layout_version = harl::kFeatureLayoutVersion;
            m.features = {1, 2, 3};
            db.record(s, &m);
        }
        db.finish_pipeline(key, "done");
    };
    fill(a, "pa", 3);
    fill(b, "pb", 4);
    {
        harl::Dataset db(a);
        EXPECT_EQ(db.recorded_candidates("pa"), (std::vector<int>{0, 1, 2}));
        EXPECT_EQ(db.pipeline_status("pa"), "done");
        EXPECT_EQ(db.pipeline_status("nope"), "");
    }
    harl::Dataset m(merged);
    m.merge_from(a);
    m.merge_from(b);
    m.merge_from(a); // merging twice adds nothing
    auto c = m.counts();
    EXPECT_EQ(c.pipelines_done, 2);
    EXPECT_EQ(c.samples_ok, 2 + 3);
    EXPECT_EQ(c.samples_bad, 2);
    auto ok = m.ok_samples();
    ASSERT_EQ(ok.size(), 5u);
    EXPECT_EQ(ok[0].features, (std::vector<uint8_t>{1, 2, 3}));
}

static harl::FuncProfileRecord profile_record(const std::string &pipeline, int candidate,
                                              const std::vector<std::string> &funcs,
                                              const std::vector<double> &ms) {
    harl::FuncProfileRecord r;
    r.pipeline = pipeline;
    r.candidate = candidate;
    r.machine = "test";
    r.features_hash = harl::features_hash({1, 2, uint8_t(candidate)});
    r.stage_func = funcs;
    r.func_ms = ms;
    r.total_ms = 10;
    return r;
}

// harl-profile --save's table: a profile is stored whole, replaced whole, found again by
// candidate and machine, and merges copy profiles the target file lacks without mixing two
// profiles of one schedule.
TEST(Dataset, ProfilesAreStoredReplacedAndMergedWhole) {
    std::string a = temp_path("pa.db"), b = temp_path("pb.db"), merged = temp_path("pm.db");
    for (auto p : {a, b, merged})
        std::remove(p.c_str());
    {
        harl::Dataset db(a);
        EXPECT_FALSE(db.has_profile("p", 0, "test"));
        db.record_profile(profile_record("p", 0, {"f", "f", "g"}, {6, 6, 3}));
        db.record_profile(profile_record("p", 1, {"f", "g"}, {1, 2}));
        db.record_profile(profile_record("p", 1, {"g"}, {5})); // profiled again: replaces
        EXPECT_TRUE(db.has_profile("p", 0, "test"));
        EXPECT_FALSE(db.has_profile("p", 0, "other machine"));
        auto all = db.profiles();
        ASSERT_EQ(all.size(), 2u);
        EXPECT_EQ(all[0].stage_func, (std::vector<std::string>{"f", "f", "g"}));
        EXPECT_EQ(all[0].func_ms, (std::vector<double>{6, 6, 3}));
        EXPECT_EQ(all[0].features_hash, harl::features_hash({1, 2, 0}));
        EXPECT_EQ(all[0].total_ms, 10);
        EXPECT_EQ(all[1].stage_func, (std::vector<std::string>{"g"}));
    }
    {
        harl::Dataset db(b);
        db.record_profile(
            profile_record("p", 0, {"h", "h", "h", "h"}, {1, 1, 1, 1})); // another profile of it
        db.record_profile(profile_record("q", 3, {"k"}, {2}));
    }
    harl::Dataset m(merged);
    m.merge_from(a);
    m.merge_from(b);
    m.merge_from(b); // merging twice adds nothing
    auto all = m.profiles();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].stage_func, (std::vector<std::string>{"f", "f", "g"}))
        << "the first file's profile stays";
    EXPECT_EQ(all[2].pipeline, "q");
}

// harl-train attaches a profile only to the sample with the featurization it was taken with,
// as one share per Func, refuses one whose stages do not match, and drops profiles the
// profiler slowed far more than their pipeline's others.
TEST(FuncProfiles, AttachByFeaturizationAndDropDistorted) {
    harl::FuncProfiles profiles;
    profiles.add({profile_record("p", 0, {"f", "g", "f"}, {6, 2, 6}), profile_record("p", 1, {"f"}, {0})});
    harl::TrainingSample s;
    s.stages.resize(3);
    EXPECT_FALSE(profiles.attach("p", {1, 2, 9}, &s)) << "other features";
    EXPECT_FALSE(profiles.attach("q", {1, 2, 0}, &s)) << "another pipeline";
    ASSERT_TRUE(profiles.attach("p", {1, 2, 0}, &s));
    EXPECT_EQ(s.stage_func, (std::vector<int>{0, 1, 0}));
    ASSERT_EQ(s.func_share.size(), 2u);
    EXPECT_NEAR(s.func_share[0], 0.75, 1e-12);
    EXPECT_NEAR(s.func_share[1], 0.25, 1e-12);
    harl::TrainingSample none;
    none.stages.resize(1);
    EXPECT_FALSE(profiles.attach("p", {1, 2, 1}, &none))
        << "a profile that saw none of its Funcs teaches nothing";
    harl::TrainingSample wrong;
    wrong.stages.resize(2);
    EXPECT_THROW(profiles.attach("p", {1, 2, 0}, &wrong), harl::HarlError);

    harl::TrainingPipeline p;
    for (double ratio : {1.0, 1.2, 0.9, 3.0}) {
        harl::TrainingSample t = s;
        t.runtime_s = 0.004;
        t.profiled_ms = 4 * ratio;
        p.samples.push_back(t);
    }
    p.samples.push_back(harl::TrainingSample{}); // not profiled
    EXPECT_EQ(harl::drop_distorted_profiles(&p), 1);
    EXPECT_TRUE(p.samples[3].func_share.empty() && p.samples[3].stage_func.empty());
    EXPECT_FALSE(p.samples[1].func_share.empty());
}

TEST(Dataset, UnusableFileIsNamed) {
    std::string p = temp_path("notadb.db");
    write_file(p, std::string(4096, 'x'));
    try {
        harl::Dataset db(p);
        FAIL() << "a non-database was opened";
    } catch (const harl::HarlError &e) {
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

TEST(CandidateOptions, EachModelPicksThenRandomisedSearchesAlternate) {
    harl::HarlOptions base;
    const std::vector<std::string> models = {"analytic", "learned"};
    for (int k = 0; k < 6; k++) {
        harl::HarlOptions o = harl::candidate_options(base, 77, k, 2, models);
        EXPECT_EQ(o.cost_model, models[k % 2]) << "candidate " << k;
        EXPECT_EQ(o.time_budget_s, 2);
        if (k < 2) {
            EXPECT_EQ(o.randomize, 0) << "candidate " << k << " is its model's own pick";
            EXPECT_EQ(o.seed, base.seed);
        } else {
            EXPECT_GE(o.randomize, 0.1) << "candidate " << k;
            EXPECT_EQ(o.seed, 77u * 1000 + k);
        }
    }
    // Without a model list the base options' model steers every candidate, and only candidate 0
    // is unrandomised (the schedules FuzzRegression replays were collected that way).
    base.cost_model = "analytic";
    EXPECT_EQ(harl::candidate_options(base, 77, 1, 2).cost_model, "analytic");
    EXPECT_GE(harl::candidate_options(base, 77, 1, 2).randomize, 0.1);
    EXPECT_EQ(harl::candidate_options(base, 77, 0, 2).randomize, 0);
}

TEST(ChildProcessRunner, MeasuresAndSurvivesCrashesHangsAndErrors) {
    harl::MeasureOptions o;
    o.timeout_seconds = 5;
    volatile double sink = 0;
    auto ok = harl::measure_in_child([] {},
                                     [&] {
                                         for (int i = 0; i < 100000; i++)
                                             sink = sink + i;
                                     },
                                     o);
    EXPECT_TRUE(ok.ok()) << ok.message;
    EXPECT_GE(ok.runs, o.min_runs);
    EXPECT_GT(ok.min_seconds, 0);
    EXPECT_LE(ok.min_seconds, ok.median_seconds);

    auto crash = harl::measure_in_child([] { std::raise(SIGSEGV); }, [] {}, o);
    EXPECT_EQ(crash.status, harl::MeasureResult::Status::Crashed);
    EXPECT_NE(crash.message.find("signal"), std::string::npos) << crash.message;

    o.timeout_seconds = 1;
    auto hang =
        harl::measure_in_child([] { std::this_thread::sleep_for(std::chrono::seconds(30)); }, [] {}, o);
    EXPECT_EQ(hang.status, harl::MeasureResult::Status::TimedOut);

    auto error = harl::measure_in_child([] { throw std::runtime_error("no such kernel"); }, [] {}, o);
    EXPECT_EQ(error.status, harl::MeasureResult::Status::Failed);
    EXPECT_EQ(error.message, "no such kernel");
}

// TempFile: what a child writes into it the parent reads back; the file is gone when the
// TempFile goes out of scope, also when an exception leaves that scope.
TEST(TempFile, CarriesAChildsResultAndIsRemovedHoweverTheScopeEnds) {
    std::string kept;
    {
        const harl::TempFile f("harl-test");
        ASSERT_TRUE(f.ok());
        kept = f.path();
        EXPECT_EQ(kept.rfind("/tmp/harl-test-", 0), 0u) << kept;
        harl::MeasureOptions o;
        o.min_runs = o.max_runs = 1;
        o.timeout_seconds = 10;
        auto r = harl::measure_in_child([&] { std::ofstream(f.path()) << "from the child 42"; }, [] {}, o);
        ASSERT_TRUE(r.ok()) << r.message;
        std::ifstream in(f.path());
        std::string words[3];
        int n = 0;
        in >> words[0] >> words[1] >> words[2] >> n;
        EXPECT_EQ(words[2], "child");
        EXPECT_EQ(n, 42);
    }
    EXPECT_FALSE(std::ifstream(kept).good()) << kept << " was left behind";
    try {
        harl::TempFile f("harl-test");
        kept = f.path();
        throw std::runtime_error("leaving early");
    } catch (const std::runtime_error &) {
    }
    EXPECT_FALSE(std::ifstream(kept).good()) << kept << " was left behind";
    harl::TempFile bad("no-such-dir/x");
    EXPECT_FALSE(bad.ok());
    EXPECT_TRUE(bad.path().empty()) << bad.path();
}

// harl-profile's measurement: Halide's profiler reports, printed after each realization in a
// child process, summed per Func and divided by the realizations. A Func doing ~50x the work of
// the other takes most of the time; a crash before any realization is an error, not a table.
TEST(StageProfile, ParsesReportsAndAttributesTimeToFuncs) {
    const harl::ProfilerTotals t = harl::parse_profiler_reports(
        "out\n total time: 15.05 ms  samples: 15  runs: 1  time/run: 15.05 ms\n"
        "  halide_malloc:         0.000ms   (0%)\n  f$2:                     6.456ms   (42%)    peak: "
        "16008000 "
        "num: 1         avg: 16008000\n  out:   7.512ms   (49%)\n"
        "out\n total time: 5.00 ms  samples: 5  runs: 1  time/run: 5.00 ms\n  out:   5.0ms   (100%)\n");
    EXPECT_EQ(t.reports, 2);
    EXPECT_DOUBLE_EQ(t.total_ms, 20.05);
    EXPECT_DOUBLE_EQ(t.func_ms.at("f$2"), 6.456);
    EXPECT_DOUBLE_EQ(t.func_ms.at("out"), 12.512);
    EXPECT_DOUBLE_EQ(t.func_ms.at("halide_malloc"), 0);

    Halide::Var x("x"), y("y");
    Halide::Func heavy("heavy"), light("light");
    Halide::Expr v = Halide::cast<float>(x + y);
    for (int i = 0; i < 50; i++)
        v = Halide::sin(v) * 1.01f;
    heavy(x, y) = v;
    light(x, y) = heavy(x, y) + 1.0f;
    heavy.compute_root();
    Halide::Pipeline p(light);
    const Halide::Target target = harl::runnable_here(Halide::get_host_target());
    Halide::Buffer<float> out(512, 256);
    harl::MeasureOptions mo;
    mo.target_seconds = 0.3;
    mo.max_runs = 1000;
    mo.timeout_seconds = 120;
    const harl::StageProfile prof = harl::profile_realize(p, target, out, mo);
    EXPECT_TRUE(prof.measurement.ok()) << prof.measurement.message;
    EXPECT_GE(prof.realizations, prof.measurement.runs);
    ASSERT_TRUE(prof.func_ms_per_run.count("heavy") && prof.func_ms_per_run.count("light"));
    EXPECT_GT(prof.func_ms_per_run.at("heavy"), 5 * prof.func_ms_per_run.at("light"));
    EXPECT_GT(prof.total_ms_per_run, 0.5 * prof.func_ms_per_run.at("heavy"));

    Halide::Func crash("crash");
    Halide::ImageParam missing(Halide::Float(32), 2, "missing"); // never bound: fails at realize
    crash(x, y) = missing(x, y);
    Halide::Pipeline pc(crash);
    EXPECT_THROW(harl::profile_realize(pc, target, out, mo), harl::HarlError);
}

// Rounds: runs are split over the rounds with a pause between them; the minimum is over all.
// The timing lock: while another process holds it shared (a collector compiling or searching)
// no timed run starts.
TEST(ChildProcessRunner, TimesInRoundsUnderTheExclusiveLock) {
    harl::MeasureOptions o;
    o.timeout_seconds = 20;
    o.min_runs = 6;
    o.max_runs = 12;
    o.rounds = 3;
    o.round_gap_seconds = 0.2;
    o.target_seconds = 1e-9; // stop each round at its share of min_runs
    auto t0 = std::chrono::steady_clock::now();
    auto r = harl::measure_in_child([] {}, [] {}, o);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.runs, 6); // 2 per round
    EXPECT_GE(wall, 0.4); // two pauses between three rounds

    char dir[] = "/tmp/harl-lock-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    o.exclusive_lock_path = std::string(dir) + "/lock";
    o.rounds = 1;
    std::optional<harl::SharedTimingLock> busy;
    busy.emplace(o.exclusive_lock_path);
    std::atomic<bool> done{false};
    std::thread measuring([&] {
        r = harl::measure_in_child([] {}, [] {}, o);
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE(done) << "timed runs started while another process held the lock shared";
    busy.reset();
    measuring.join();
    EXPECT_TRUE(r.ok()) << r.message;

    // Waiting for the lock does not use up the candidate's timeout; a candidate that is slow
    // itself still times out.
    o.timeout_seconds = 0.5;
    busy.emplace(o.exclusive_lock_path);
    std::thread waiting_long([&] { r = harl::measure_in_child([] {}, [] {}, o); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    busy.reset();
    waiting_long.join();
    EXPECT_TRUE(r.ok()) << r.message;
    r = harl::measure_in_child([] { std::this_thread::sleep_for(std::chrono::seconds(3)); }, [] {}, o);
    EXPECT_EQ(r.status, harl::MeasureResult::Status::TimedOut) << r.message;
    EXPECT_NE(r.message.find("not counting waits"), std::string::npos) << r.message;
    std::remove(o.exclusive_lock_path.c_str());
    rmdir(dir);
}

// --centred-regression: the regression term then sees each pipeline's runtimes relative to each
// other, so a machine 10x faster (every runtime divided by 10) trains the same network, where the
// plain regression term pulls every correction towards that machine's speed.
// Profiles say which stage the time went to, where a schedule's runtime only gives the sum: a
// model trained with them (TrainConfig::profile_weight) splits the time of schedules between
// their stages more like the truth than one trained on the same runtimes alone, on the
// schedules it trained on and on held-out ones.
TEST(Trainer, ProfilesTeachWhereTheTimeGoes) {
    auto feats = real_features(24, 4);
    std::vector<harl::TrainingPipeline> train, val;
    auto factor = [&](size_t k, size_t st) {
        return feats[k][st][harl::F_inner_tile_points] < 64 ? 4.0 : 0.5;
    };
    synthetic_pipelines(feats, 14, factor, &train, &val);
    harl::MachineInfo m;
    auto analytic = harl::make_analytic_cost_model(m);
    // Every stage its own Func, profiled exactly: share = analytic estimate x factor / runtime.
    size_t k = 0;
    for (auto &p : train)
        for (auto &s : p.samples) {
            std::vector<double> secs;
            analytic->predict(s.stages, &secs);
            for (size_t st = 0; st < secs.size(); st++) {
                s.stage_func.push_back((int)st);
                s.func_share.push_back(secs[st] * factor(k, st) / s.runtime_s);
            }
            k++;
        }
    // Absolute error of the log share of the stages of `set` (whose first schedule is
    // feats[first]), weighted by the true share as in the loss: the mean over schedules.
    auto share_error = [&](const harl::ModelWeights &w, const std::vector<harl::TrainingPipeline> &set,
                           size_t first) {
        auto model = harl::make_learned_cost_model(m, w);
        double err = 0;
        int n = 0;
        size_t at = first;
        for (const auto &p : set)
            for (const auto &s : p.samples) {
                std::vector<double> pred, secs;
                model->predict(s.stages, &pred);
                analytic->predict(s.stages, &secs);
                double total = 0;
                for (double v : pred)
                    total += v;
                for (size_t st = 0; st < pred.size(); st++) {
                    const double share = secs[st] * factor(at, st) / s.runtime_s;
                    err += share * std::fabs(std::log(pred[st] / total) - std::log(share));
                }
                n++;
                at++;
            }
        return err / n;
    };
    // Every epoch of each enters its ensemble (snapshots): which epoch the validation ranking
    // would pick is another matter than what the profile loss teaches (after the nineteenth
    // session's analytic-model fix it picked epoch 7 of 20, before the shares were learned).
    harl::TrainConfig cfg = small_config(20);
    cfg.snapshots = cfg.epochs;
    const harl::ModelWeights plain = harl::train_cost_model(train, val, cfg, nullptr).weights;
    cfg.profile_weight = 1;
    const harl::ModelWeights profiled = harl::train_cost_model(train, val, cfg, nullptr).weights;
    const double with = share_error(profiled, val, 4 * 14), without = share_error(plain, val, 4 * 14);
    const double with_tr = share_error(profiled, train, 0), without_tr = share_error(plain, train, 0);
    std::cout << "stages' log-share error with profiles / without: held out " << with << " / " << without
              << ", trained on " << with_tr << " / " << without_tr << "\n";
    // Seeds 0-3: 0.36-0.40 against 0.48-0.56 on the schedules trained on (ratios 0.68-0.79),
    // 0.46-0.50 against 0.51-0.55 held out. A profile loss that taught nothing would give about 1.
    EXPECT_LT(with_tr, 0.85 * without_tr);
    EXPECT_LT(with, without);
}

TEST(Trainer, CentredRegressionIgnoresTheMachinesOverallSpeed) {
    auto feats = real_features(12, 4);
    auto output_layer = [&](bool centred, double speedup) {
        harl::TrainConfig cfg = small_config(8);
        cfg.learning_rate = 1e-2;
        cfg.regression_weight = 1.0;
        cfg.centred_regression = centred;
        std::vector<harl::TrainingPipeline> train, val;
        synthetic_pipelines(
            feats, 2, [&](size_t k, size_t st) { return (1.0 + 0.3 * (double)((k + st) % 3)) / speedup; },
            &train, &val);
        return harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {}).weights.w3;
    };
    auto largest_difference = [](const std::vector<float> &a, const std::vector<float> &b) {
        EXPECT_EQ(a.size(), b.size());
        double d = 0;
        for (size_t i = 0; i < a.size() && i < b.size(); i++)
            d = std::max(d, (double)std::fabs(a[i] - b[i]));
        return d;
    };
    EXPECT_LT(largest_difference(output_layer(true, 1), output_layer(true, 10)), 1e-3);
    EXPECT_GT(largest_difference(output_layer(false, 1), output_layer(false, 10)), 1e-2);
}

// --bootstrap (bagging): each member trains on its own draw of the training pipelines with
// replacement, about 63% of them distinct, the same draw for the same seed; without it every
// pipeline once. An ensemble trained that way saves and loads as one weights file.
TEST(Trainer, BootstrapMembersTrainOnTheirOwnDrawOfThePipelines) {
    const size_t n = 2000;
    std::mt19937_64 a(7), b(7), c(8), plain_rng(7);
    const std::vector<size_t> drawn = harl::member_training_pipelines(n, true, a);
    ASSERT_EQ(drawn.size(), n);
    EXPECT_TRUE(std::all_of(drawn.begin(), drawn.end(), [&](size_t i) { return i < n; }));
    const size_t distinct = std::set<size_t>(drawn.begin(), drawn.end()).size();
    EXPECT_GT(distinct, 0.58 * n);
    EXPECT_LT(distinct, 0.68 * n);
    EXPECT_EQ(harl::member_training_pipelines(n, true, b), drawn);
    EXPECT_NE(harl::member_training_pipelines(n, true, c), drawn);
    const std::vector<size_t> plain = harl::member_training_pipelines(n, false, plain_rng);
    EXPECT_EQ(std::set<size_t>(plain.begin(), plain.end()).size(), n);

    harl::TrainConfig cfg = small_config(3);
    cfg.members = 2;
    cfg.bootstrap = true;
    std::vector<harl::TrainingPipeline> train, val;
    synthetic_pipelines(
        real_features(16, 4), 3, [](size_t k, size_t) { return 1.0 + 0.5 * (double)(k % 2); }, &train, &val);
    const harl::TrainOutput out = harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {});
    ASSERT_EQ(out.weights.members, 2);
    const std::string path = temp_path("bootstrap.weights");
    harl::save_weights(path, out.weights);
    const harl::ModelWeights back = harl::load_weights(path);
    EXPECT_EQ(back.members, 2);
    std::remove(path.c_str());
}

// --snapshots: each member enters the ensemble with its best validation epochs, best first; the
// first is the epoch a plain training keeps, with the same weights.
TEST(Trainer, SnapshotsAddEachMembersBestEpochsBestFirst) {
    harl::TrainConfig cfg = small_config(6);
    cfg.members = 2;
    std::vector<harl::TrainingPipeline> train, val;
    synthetic_pipelines(
        real_features(8, 4), 3, [](size_t k, size_t) { return 1.0 + 0.5 * (double)(k % 2); }, &train, &val);
    const harl::TrainOutput plain = harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {});
    cfg.snapshots = 3;
    const harl::TrainOutput snap = harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {});
    ASSERT_EQ(snap.weights.members, 6);
    ASSERT_EQ(snap.best_epochs.size(), 6u);
    ASSERT_EQ(snap.history.size(), 12u);
    auto score = [&](int member, int epoch) {
        const harl::RankingMetrics &m = snap.history[(size_t)(member * cfg.epochs + epoch - 1)].validation;
        return m.pairwise_accuracy + m.mean_kendall_tau + m.top1_within_10pct;
    };
    for (int k = 0; k < 2; k++) {
        const int *e = &snap.best_epochs[(size_t)k * 3];
        EXPECT_TRUE(e[0] != e[1] && e[1] != e[2] && e[0] != e[2]) << e[0] << " " << e[1] << " " << e[2];
        for (int i = 0; i < 3; i++)
            EXPECT_TRUE(e[i] >= 1 && e[i] <= cfg.epochs) << e[i];
        EXPECT_GE(score(k, e[0]), score(k, e[1]));
        EXPECT_GE(score(k, e[1]), score(k, e[2]));
        for (int epoch = 1; epoch <= cfg.epochs; epoch++) {
            if (epoch != e[0] && epoch != e[1] && epoch != e[2]) {
                EXPECT_LE(score(k, epoch), score(k, e[2]));
            }
        }
        EXPECT_EQ(e[0], plain.best_epochs[(size_t)k]);
        const harl::ModelWeights a = snap.weights.member(k * 3), b = plain.weights.member(k);
        ASSERT_EQ(a.w1.size(), b.w1.size());
        for (size_t i = 0; i < a.w1.size(); i++)
            ASSERT_NEAR(a.w1[i], b.w1[i], 1e-5) << i;
    }
    cfg.members = 32;
    EXPECT_THROW(harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {}), harl::HarlError);
    cfg.members = 1;
    cfg.snapshots = cfg.epochs + 1; // more snapshots than epochs: an untrained network would fill in
    EXPECT_THROW(harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {}), harl::HarlError);
}

// --folds K: training and validation pipelines are pooled; member k validates on fold k mod K
// (a stable hash of the key) and trains on the rest; pipelines marked train-only never validate.
TEST(Trainer, FoldsValidateEachMemberOnItsOwnFold) {
    std::vector<int> count(4, 0);
    for (int i = 0; i < 4000; i++) {
        const int f = harl::pipeline_fold("rp2-s" + std::to_string(i), 4);
        ASSERT_TRUE(f >= 0 && f < 4) << f;
        EXPECT_EQ(f, harl::pipeline_fold("rp2-s" + std::to_string(i), 4));
        count[(size_t)f]++;
    }
    for (int c : count)
        EXPECT_TRUE(c > 850 && c < 1150) << c;

    harl::TrainConfig cfg = small_config(2);
    cfg.members = 2;
    cfg.folds = 2;
    std::vector<harl::TrainingPipeline> train, val;
    synthetic_pipelines(
        real_features(8, 4), 5, [](size_t k, size_t) { return 1.0 + 0.5 * (double)(k % 2); }, &train, &val);
    ASSERT_EQ(train.size() + val.size(), 8u);
    train[0].train_only = true;
    std::vector<int> in_fold(2, 0);
    for (const auto &p : train)
        if (!p.train_only) in_fold[(size_t)harl::pipeline_fold(p.key, 2)]++;
    for (const auto &p : val)
        in_fold[(size_t)harl::pipeline_fold(p.key, 2)]++;
    ASSERT_GT(in_fold[0], 0);
    ASSERT_GT(in_fold[1], 0);
    ASSERT_EQ(in_fold[0] + in_fold[1], 7);
    const harl::TrainOutput out = harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {});
    ASSERT_EQ(out.history.size(), 4u);
    for (const harl::EpochReport &e : out.history)
        EXPECT_EQ(e.validation.pipelines, in_fold[(size_t)e.member]) << "member " << e.member;
    EXPECT_EQ(out.weights.members, 2);
}

// harl-train --terms: a network with three outputs trains on CPU samples and gives weights that
// keep them.
TEST(Trainer, TermOutputsTrain) {
    harl::TrainConfig cfg = small_config(2);
    cfg.outputs = harl::kTermOutputs;
    std::vector<harl::TrainingPipeline> train, val;
    synthetic_pipelines(
        real_features(4, 4), 3, [](size_t k, size_t) { return 1.0 + 0.5 * (double)(k % 2); }, &train, &val);
    const harl::TrainOutput out = harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {});
    EXPECT_EQ(out.weights.outputs, harl::kTermOutputs);
    EXPECT_EQ(out.weights.b3.size(), (size_t)harl::kTermOutputs);
    auto model = harl::make_learned_cost_model(train[0].samples[0].machine, out.weights);
    std::vector<double> s;
    model->predict(train[0].samples[0].stages, &s);
    for (double v : s)
        EXPECT_TRUE(std::isfinite(v) && v > 0) << v;
}

// The GPU model trains the same way on GPU-layout samples (here with runtimes from the analytic
// GPU model times a hidden factor, since this machine has no GPU to measure on), and HARL uses
// such weights for GPU targets only.
TEST(Trainer, GpuModelTrainsOnGpuFeaturesAndIsUsedForGpuTargets) {
    Halide::Target cuda =
        harl::host_target().with_feature(Halide::Target::CUDA).with_feature(Halide::Target::CUDACapability80);
    Halide::MachineParams mp(2, 32 << 20, 40);
    harl::MachineInfo m = harl::make_machine_info(cuda, mp);
    ASSERT_TRUE(m.gpu);
    auto base = harl::make_base_cost_model(m);
    std::vector<harl::TrainingPipeline> train, val;
    for (int p = 0; p < 24; p++) {
        harl::TrainingPipeline tp;
        tp.key = "gpu" + std::to_string(p);
        for (int k = 0; k < 6; k++) {
            harl::RandomPipeline rp = harl::make_random_pipeline(100 + p, 2, 6);
            harl::HarlOptions o;
            o.seed = k;
            o.randomize = k ? 0.6 : 0.0;
            harl::AutoscheduleOutput out = harl::autoschedule(Halide::Pipeline(rp.output), cuda, mp, o);
            uint32_t layout = 0;
            harl::TrainingSample s;
            s.stages = harl::decode_featurization(out.featurization, &layout);
            ASSERT_EQ(layout, harl::kGpuFeatureLayoutVersion);
            s.machine = m;
            std::vector<double> secs;
            base->predict(s.stages, &secs);
            for (size_t st = 0; st < secs.size(); st++) {
                // Kernels with wide blocks are 4x slower than the model says, the rest 2x faster.
                s.runtime_s += secs[st] * (s.stages[st][harl::G_g_threads_per_block] >= 128 ? 4.0 : 0.5);
            }
            tp.samples.push_back(s);
        }
        (p < 16 ? train : val).push_back(tp);
    }
    harl::TrainConfig cfg;
    cfg.epochs = 60;
    cfg.hidden = 16;
    cfg.batch_pipelines = 2;
    cfg.learning_rate = 3e-3;
    cfg.features = harl::num_features_of_layout(harl::kGpuFeatureLayoutVersion);
    harl::TrainOutput out = harl::train_cost_model(train, val, cfg, [](const harl::EpochReport &) {});
    out.weights.layout_version = harl::kGpuFeatureLayoutVersion;
    auto learned = harl::evaluate_cost_model(
        val, [&](const harl::MachineInfo &mi) { return harl::make_learned_cost_model(mi, out.weights); });
    auto analytic = harl::evaluate_cost_model(
        val, [&](const harl::MachineInfo &mi) { return harl::make_base_cost_model(mi); });
    EXPECT_LT(analytic.pairwise_accuracy, 0.9) << "the hidden factor must reorder some schedules";
    EXPECT_GT(learned.pairwise_accuracy, analytic.pairwise_accuracy);

    const std::string path = temp_path("gpu.weights");
    harl::save_weights(path, out.weights);
    harl::HarlOptions o;
    o.weights = path;
    harl::RandomPipeline rp = harl::make_random_pipeline(7, 2, 6);
    harl::AutoscheduleOutput sched = harl::autoschedule(Halide::Pipeline(rp.output), cuda, mp, o);
    EXPECT_NE(sched.schedule_source.find("cost model learned"), std::string::npos);
    // GPU weights on a CPU target, CPU weights on a GPU target: refused by name.
    harl::RandomPipeline rp2 = harl::make_random_pipeline(7, 2, 6);
    try {
        harl::autoschedule(Halide::Pipeline(rp2.output), harl::host_target(), mp, o);
        ADD_FAILURE() << "GPU weights accepted for a CPU target";
    } catch (const harl::HarlError &e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    const std::string cpu_path = temp_path("cpu.weights");
    harl::save_weights(cpu_path, harl::shipped_weights());
    o.weights = cpu_path;
    harl::RandomPipeline rp3 = harl::make_random_pipeline(7, 2, 6);
    try {
        harl::autoschedule(Halide::Pipeline(rp3.output), cuda, mp, o);
        ADD_FAILURE() << "CPU weights accepted for a GPU target";
    } catch (const harl::HarlError &e) {
        EXPECT_NE(std::string(e.what()).find("CPU features"), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
    std::remove(cpu_path.c_str());
}

// Replaying a schedule's "// Decisions:" header on a freshly built copy of its pipeline (other
// unique names) gives exactly the features HARL computed when it chose the schedule: what
// harl-collect --refeaturize relies on to give old measurements new features. Random pipelines
// with randomised searches cover inlining, compute_at, storage hoisting, unscheduled updates
// and rfactor intermediates.
TEST(ScheduleReplay, ReplayedDecisionsGiveTheFeaturesOfTheSearch) {
    const Halide::MachineParams mp(2, 32 << 20, 40);
    int replayed = 0, with_rfactor = 0, with_compute_at = 0;
    // Small pipelines, and two collected ones (histograms split by rfactor at their scale).
    std::vector<uint64_t> seeds = {90116, 90142};
    for (uint64_t seed = 300; seed < 340; seed++)
        seeds.push_back(seed);
    for (uint64_t seed : seeds) {
        for (int k : {0, 3}) {
            auto build = [&] {
                return seed >= 90000 ? harl::pipeline_of_seed(seed, 2, 8)
                                     : harl::make_random_pipeline(seed, 2, 6);
            };
            harl::RandomPipeline rp = build();
            harl::HarlOptions o = harl::candidate_options(harl::HarlOptions{}, seed, k, 0.3, {"analytic"});
            o.check_lowering = false;
            auto res = harl::autoschedule(Halide::Pipeline(rp.output), harl::host_target(), mp, o);
            harl::RandomPipeline again = build();
            const std::vector<uint8_t> fresh = harl::refeaturize_schedule(
                Halide::Pipeline(again.output), harl::host_target(), mp, res.schedule_source);
            EXPECT_EQ(fresh, res.featurization) << "seed " << seed << " candidate " << k << "\n"
                                                << res.summary;
            replayed++;
            with_rfactor += res.schedule_source.find("Reductions split") != std::string::npos;
            with_compute_at += res.summary.find(": at ") != std::string::npos;
        }
    }
    EXPECT_EQ(replayed, 84);
    EXPECT_GT(with_rfactor, 0) << "no schedule with an rfactor intermediate was replayed";
    EXPECT_GT(with_compute_at, 10);
}

TEST(ScheduleReplay, FuncNamesMatchAcrossProcesses) {
    // Both forms were seen for one rfactor intermediate in collected data.
    EXPECT_TRUE(harl::same_func_name("hist_5$49_intm", "hist_5_32_intm$44"));
    EXPECT_TRUE(harl::same_func_name("conv_0$3", "conv_0$117"));
    EXPECT_FALSE(harl::same_func_name("conv_0$3", "pool_0$3"));
    EXPECT_FALSE(harl::same_func_name("hist_5$49_intm", "hist_5$49"));
}

TEST(ScheduleReplay, DecisionsThatDoNotFitThePipelineAreRefused) {
    const Halide::MachineParams mp(2, 32 << 20, 40);
    harl::HarlOptions o;
    o.cost_model = "analytic";
    o.check_lowering = false;
    harl::RandomPipeline a = harl::make_random_pipeline(11, 4, 6);
    const std::string src =
        harl::autoschedule(Halide::Pipeline(a.output), harl::host_target(), mp, o).schedule_source;
    auto replay_error = [&](uint64_t seed, const std::string &source) -> std::string {
        harl::RandomPipeline p = harl::make_random_pipeline(seed, 4, 6);
        try {
            harl::refeaturize_schedule(Halide::Pipeline(p.output), harl::host_target(), mp, source);
        } catch (const harl::HarlError &e) {
            return e.what();
        }
        return "";
    };
    EXPECT_EQ(replay_error(11, src), "");
    EXPECT_NE(replay_error(12, src).find("another pipeline"), std::string::npos) << replay_error(12, src);
    EXPECT_NE(replay_error(11, "// no header\n").find("no '// Decisions:' block"), std::string::npos);
    std::string bad = src;
    const size_t tiles = bad.find("tiles ");
    ASSERT_NE(tiles, std::string::npos);
    bad.replace(tiles, 6, "tiles x");
    EXPECT_NE(replay_error(11, bad).find("not a number"), std::string::npos) << replay_error(11, bad);
}

// HARL_PORTFOLIO: with the learned model HARL also searches with the analytic model and keeps
// whichever complete schedule the learned model predicts faster, so its pick is never predicted
// slower than either search's. (Unseen dense block 9800004 on Zen 5: the learned model's search
// alone picked a schedule it predicted at 19.1 ms that ran 7.8-8.3 ms; the analytic search's
// pick, predicted 13.9 ms, ran 6.9-7.1 ms.)
TEST(LearnedModel, PortfolioKeepsThePickTheLearnedModelPredictsFaster) {
    const Halide::MachineParams mp(2, 32 << 20, 40);
    const Halide::Target t = harl::host_target();
    const harl::MachineInfo mi = harl::make_machine_info(t, mp);
    const std::unique_ptr<harl::CostModel> learned =
        harl::make_learned_cost_model(mi, harl::shipped_weights_for(mi));
    int analytic_won = 0;
    for (uint64_t seed : {9800001ull, 9800004ull, 9800007ull}) {
        // The learned model's prediction for the schedule a search configured so picks.
        auto predicted = [&](const std::string &model, bool portfolio) {
            const harl::RandomPipeline rp = harl::make_random_dense(seed);
            harl::HarlOptions o;
            o.cost_model = model;
            o.portfolio = portfolio;
            o.time_budget_s = 30; // a budget no search here runs into: the searches are repeatable
            const harl::AutoscheduleOutput out = harl::autoschedule(Halide::Pipeline(rp.output), t, mp, o);
            const std::vector<harl::StageFeatures> f = harl::decode_featurization(out.featurization);
            std::vector<double> seconds;
            learned->predict(f, &seconds);
            double total = 0;
            for (double s : seconds)
                total += s;
            return total;
        };
        const double both = predicted("learned", true), alone = predicted("learned", false),
                     analytic = predicted("analytic", true);
        EXPECT_NEAR(both, std::min(alone, analytic), 1e-6 * both) << "seed " << seed;
        analytic_won += analytic < alone;
        std::cout << "seed " << seed << ": learned model's prediction of its own search's pick "
                  << alone * 1e3 << " ms, of the analytic search's " << analytic * 1e3
                  << " ms, of the portfolio's " << both * 1e3 << " ms\n";
    }
    std::cout << "the analytic search's pick was kept for " << analytic_won << " of 3 dense blocks\n";
}
