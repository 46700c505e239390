// The RL refinement pass (autoscheduler/refine/): edits are legal and keep outputs correct, the
// pass is never worse than its input, deterministic for a seed and stops by itself; the policy
// networks learn in the direction of the advantage; policy files are checked; measured tuning
// returns the fastest measured schedule, writes its trace and computes the right output.
#include "Autoscheduler.h"
#include "BeamSearch.h"
#include "Errors.h"
#include "HostTarget.h"
#include "PolicyNet.h"
#include "ScheduleEmitter.h"
#include "TestPipelines.h"
#include "refine/RlRefiner.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

using namespace harl_test;

namespace {

const Halide::MachineParams kParams(2, 32 << 20, 40);

struct Scheduled {
    BuiltPipeline b;
    std::unique_ptr<harl::PipelineGraph> g;
    harl::MachineInfo m;
    std::unique_ptr<harl::CostModel> model;
    harl::SearchContext ctx;
};

Scheduled scheduled_case(const std::string &name) {
    Scheduled s;
    s.b = find_case(name).build();
    std::vector<Halide::Internal::Function> outs;
    for (auto &f : s.b.outputs)
        outs.push_back(f.function());
    s.g = std::make_unique<harl::PipelineGraph>(outs, harl::host_target());
    s.m = harl::make_machine_info(harl::host_target(), kParams);
    s.model = harl::make_analytic_cost_model(s.m);
    s.ctx = harl::SearchContext::of(s.m);
    return s;
}

harl::ScheduleState beam(Scheduled &s, double randomize, uint64_t seed) {
    harl::HarlOptions o;
    o.beam_size = 2;
    o.randomize = randomize;
    o.seed = seed;
    return harl::beam_search(*s.g, o, s.m, *s.model).best;
}

harl::RefineOptions quick(uint64_t seed) {
    harl::RefineOptions ro;
    ro.seed = seed;
    ro.max_episodes = 12;
    ro.patience = 4;
    ro.budget_s = 1e9; // stop by episodes/patience: deterministic
    return ro;
}

} // namespace

TEST(Refine, EditsOfEveryKindAreLegalAndKeepOutputsCorrect) {
    int compiled = 0;
    for (const char *name :
         {"conv_bias_relu", "unsharp_mask", "softmax_rows", "harris_like", "histogram_equalize"}) {
        Scheduled ref = scheduled_case(name);
        auto expected = run_pipeline(ref.b, harl::jit_target());
        Scheduled s = scheduled_case(name);
        harl::ScheduleState start = beam(s, 0.0, 1);
        harl::EditSpace space(*s.g, s.m, *s.model, s.ctx, 1);
        // One edit of each kind across the pipeline, applied on top of each other.
        harl::ScheduleState cur = start;
        bool kinds[harl::kNumEditKinds] = {false};
        int total = 0;
        for (int node : s.g->decision_order()) {
            for (const harl::Edit &e : space.edits(cur, node)) {
                total++;
                ASSERT_EQ(e.node, node);
                harl::ScheduleState next = space.apply(cur, e);
                ASSERT_TRUE(next.complete()) << name;
                EXPECT_TRUE(harl::same_choice(next.choice(node), *e.decision.choice)) << name;
                if (!kinds[(int)e.kind]) {
                    kinds[(int)e.kind] = true;
                    cur = next;
                }
            }
        }
        EXPECT_GT(total, 0) << name;
        harl::apply_directives(*s.g, harl::make_directives(cur));
        auto got = run_pipeline(s.b, harl::jit_target());
        compiled++;
        for (size_t i = 0; i < got.size(); i++)
            EXPECT_EQ(compare_buffers(got[i], expected[i]), "") << name << "\n" << cur.describe();
    }
    EXPECT_EQ(compiled, 5);
}

TEST(Refine, NeverWorseDeterministicAndStopsByItself) {
    for (const char *name : {"conv_bias_relu", "unsharp_mask", "matmul"}) {
        Scheduled s = scheduled_case(name);
        harl::ScheduleState start = beam(s, 0.0, 3);
        std::string first;
        for (int run = 0; run < 2; run++) {
            harl::EditSpace space(*s.g, s.m, *s.model, s.ctx, 5);
            harl::PolicyWeights policy = harl::shipped_policy();
            harl::RlRefiner rl(space, policy, quick(5));
            harl::RefineResult r = rl.refine(start);
            EXPECT_LE(r.best_cost, r.start_cost) << name;
            EXPECT_LE(r.episodes, 12) << name;
            EXPECT_TRUE(r.stalled || r.episodes == 12) << name;
            if (run == 0)
                first = r.best.describe();
            else
                EXPECT_EQ(first, r.best.describe()) << name << ": same seed, different schedule";
        }
    }
}

TEST(Refine, ImprovesRandomisedSchedules) {
    // Schedules with every decision random leave plenty to gain: the pass must find some of it.
    int improved = 0, cases = 0;
    for (const char *name : {"conv_bias_relu", "unsharp_mask", "harris_like", "matmul"}) {
        Scheduled s = scheduled_case(name);
        harl::ScheduleState start = beam(s, 1.0, 11);
        harl::EditSpace space(*s.g, s.m, *s.model, s.ctx, 2);
        harl::PolicyWeights policy = harl::shipped_policy();
        harl::RlRefiner rl(space, policy, quick(2));
        harl::RefineResult r = rl.refine(start);
        cases++;
        improved += r.best_cost < 0.95 * r.start_cost;
    }
    EXPECT_GE(improved, cases - 1);
}

TEST(Refine, AdaptiveExplorationFollowsImprovement) {
    Scheduled s = scheduled_case("conv_bias_relu");
    harl::EditSpace space(*s.g, s.m, *s.model, s.ctx, 1);
    harl::PolicyWeights policy = harl::shipped_policy();
    harl::RlRefiner rl(space, policy, quick(1));
    harl::RlRefiner::Schedule sc = rl.initial_schedule();
    const double t0 = sc.temperature;
    const int l0 = sc.length;
    rl.adapt_schedule(sc, false);
    EXPECT_GT(sc.temperature, t0);
    EXPECT_GT(sc.length, l0);
    EXPECT_EQ(sc.stall, 1);
    rl.adapt_schedule(sc, true);
    rl.adapt_schedule(sc, true);
    EXPECT_LT(sc.temperature, t0);
    EXPECT_EQ(sc.stall, 0);
}

TEST(Policy, GradientStepFollowsTheAdvantage) {
    harl::PolicyWeights w = harl::PolicyWeights::initial(3);
    harl::PolicyDecision d;
    d.net = harl::ValueNet;
    d.num_rows = 3;
    for (int i = 0; i < 3 * harl::kValueInputs; i++)
        d.rows.push_back((float)((i * 37) % 11) / 11.0f);
    d.chosen = 1;
    auto prob = [&] { return harl::softmax(w.nets[harl::ValueNet].forward(d.rows, 3), 1.0)[1]; };
    const double p0 = prob();
    d.advantage = 1.0;
    for (int i = 0; i < 20; i++)
        harl::policy_gradient_step(w, {d}, {}, 1e-2, 0.0);
    const double p1 = prob();
    EXPECT_GT(p1, p0 + 0.05);
    d.advantage = -1.0;
    for (int i = 0; i < 40; i++)
        harl::policy_gradient_step(w, {d}, {}, 1e-2, 0.0);
    EXPECT_LT(prob(), p1 - 0.05);
}

TEST(Policy, FileErrorsNameTheFileAndProblem) {
    const std::string path = ::testing::TempDir() + "harl_policy_test.weights";
    harl::PolicyWeights w = harl::PolicyWeights::initial(1);
    harl::save_policy(path, w);
    harl::PolicyWeights back = harl::load_policy(path);
    EXPECT_EQ(back.nets[harl::StageNet].params(), w.nets[harl::StageNet].params());
    std::ifstream in(path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string bytes = buf.str();
    auto expect_error = [&](const std::string &b, const std::string &what) {
        try {
            harl::parse_policy(b, "policy file 'x.weights'");
            ADD_FAILURE() << "accepted: " << what;
        } catch (const harl::HarlError &e) {
            EXPECT_NE(std::string(e.what()).find("x.weights"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    expect_error(bytes.substr(0, bytes.size() - 10), "truncated");
    std::string corrupt = bytes;
    corrupt[corrupt.size() - 3] ^= 0x55;
    expect_error(corrupt, "checksum");
    std::string magic = bytes;
    magic[0] = 'X';
    expect_error(magic, "not a HARL policy file");
    std::string layout = bytes;
    layout[12] = 99; // policy feature layout version
    expect_error(layout, "policy feature layout");
    try {
        harl::load_policy("/nonexistent/p.weights");
        ADD_FAILURE() << "missing file accepted";
    } catch (const harl::HarlError &e) {
        EXPECT_NE(std::string(e.what()).find("HARL_POLICY"), std::string::npos);
    }
    // Through the options: a bad HARL_POLICY stops scheduling with that error.
    harl::HarlOptions o;
    o.policy = "/nonexistent/p.weights";
    BuiltPipeline b = find_case("conv_bias_relu").build();
    EXPECT_THROW(harl::autoschedule(Halide::Pipeline(b.outputs), harl::host_target(), kParams, o),
                 harl::HarlError);
    std::remove(path.c_str());
}

TEST(Measure, TunerReturnsFastestMeasuredAndCorrectOutput) {
    const std::string trace = ::testing::TempDir() + "harl_trace_test.csv";
    std::remove(trace.c_str());
    harl::HarlOptions o;
    o.measure = 6;
    o.measure_batch = 2;
    o.trace = trace;
    o.seed = 4;
    // Scheduled before any JIT in this process: the measuring children are forked from it.
    BuiltPipeline b = find_case("conv_bias_relu").build();
    harl::AutoscheduleOutput out =
        harl::autoschedule(Halide::Pipeline(b.outputs), harl::jit_target(), kParams, o);
    EXPECT_GE(out.measured, 2);
    EXPECT_LE(out.measured, 6);
    EXPECT_GT(out.measured_seconds, 0);
    std::ifstream in(trace);
    std::string line;
    int rows = 0;
    double best = 1e30, last_best = 0;
    std::getline(in, line);
    EXPECT_EQ(line, "strategy,pipeline,index,wall_s,runtime_s,best_s,predicted_s,status");
    while (std::getline(in, line)) {
        rows++;
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');)
            f.push_back(c);
        ASSERT_EQ(f.size(), 8u) << line;
        EXPECT_EQ(f[0], "rl");
        if (f[7] == "ok") best = std::min(best, std::stod(f[4]));
        last_best = std::stod(f[5]);
    }
    EXPECT_EQ(rows, out.measured);
    EXPECT_DOUBLE_EQ(last_best, best);
    EXPECT_NEAR(out.measured_seconds, best, 1e-9);
    auto got = run_pipeline(b, harl::jit_target());
    BuiltPipeline ref = find_case("conv_bias_relu").build();
    auto expected = run_pipeline(ref, harl::jit_target());
    for (size_t i = 0; i < got.size(); i++)
        EXPECT_EQ(compare_buffers(got[i], expected[i]), "");
    std::remove(trace.c_str());
}

TEST(Measure, BaselineTunersRunOnTheSameBudget) {
    for (const char *tuner : {"random", "dropout"}) {
        harl::HarlOptions o;
        o.measure = 3;
        o.tuner = tuner;
        BuiltPipeline b = find_case("unsharp_mask").build();
        harl::AutoscheduleOutput out =
            harl::autoschedule(Halide::Pipeline(b.outputs), harl::jit_target(), kParams, o);
        EXPECT_GE(out.measured, 1) << tuner;
        EXPECT_LE(out.measured, 3) << tuner;
        EXPECT_GT(out.measured_seconds, 0) << tuner;
    }
}
