// Search properties: determinism for a seed, the time budget, beam 1 (greedy) still legal, and
// the featurization layout.
#include "Autoscheduler.h"
#include "CacheSets.h"
#include "FeatureLayout.h"
#include "Featurizer.h"
#include "HostTarget.h"
#include "ScheduleReplay.h"
#include "SearchSpace.h"
#include "TestPipelines.h"

#include <chrono>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <set>
#include <unistd.h>

using namespace harl_test;

namespace {

const Halide::MachineParams kParams(2, 32 << 20, 40);

harl::AutoscheduleOutput schedule_case(const std::string &name, const harl::HarlOptions &opts) {
    BuiltPipeline b = find_case(name).build();
    return harl::autoschedule(Halide::Pipeline(b.outputs), harl::host_target(), kParams, opts);
}

// A long chain of stencils and pointwise stages: `stages` Funcs.
std::vector<Halide::Func> long_pipeline(int stages, Halide::ImageParam &in) {
    Halide::Var x("x"), y("y");
    std::vector<Halide::Func> fs;
    Halide::Func prev = Halide::BoundaryConditions::repeat_edge(in);
    for (int i = 0; i < stages; i++) {
        Halide::Func f("s" + std::to_string(i));
        if (i % 3 == 0)
            f(x, y) = (prev(x - 1, y) + prev(x, y) + prev(x + 1, y)) * 0.33f;
        else if (i % 3 == 1)
            f(x, y) = (prev(x, y - 1) + prev(x, y + 1)) * 0.5f;
        else
            f(x, y) = prev(x, y) * 1.01f + 0.5f;
        fs.push_back(f);
        prev = f;
    }
    fs.back().set_estimates({{0, 1024}, {0, 1024}});
    return fs;
}

} // namespace

// Rebuilding a pipeline in one process renames its Funcs (f, f$1, ...): compare the decisions
// with those suffixes removed. (tests/roundtrip compares whole .schedule.h files across runs.)
std::string canonical(const std::string &summary) {
    return std::regex_replace(summary, std::regex("\\$[0-9]+|(lambda)_[0-9]+"), "$1");
}

TEST(Search, SameSeedSameSchedule) {
    harl::HarlOptions opts;
    opts.seed = 7;
    opts.randomize = 0.3; // exercise the seeded random decisions too
    for (const char *name : {"conv_bias_relu", "unsharp_mask", "softmax_rows", "harris_like"}) {
        std::string a = canonical(schedule_case(name, opts).summary);
        std::string b = canonical(schedule_case(name, opts).summary);
        EXPECT_EQ(a, b) << name;
        EXPECT_FALSE(a.empty());
    }
}

TEST(Search, GreedyBeamOfOneIsLegalAndCorrect) {
    harl::HarlOptions opts;
    opts.beam_size = 1;
    for (const char *name : {"matmul", "harris_like", "histogram_equalize"}) {
        BuiltPipeline ref = find_case(name).build();
        auto expected = run_pipeline(ref, harl::jit_target());
        BuiltPipeline b = find_case(name).build();
        harl::autoschedule(Halide::Pipeline(b.outputs), harl::jit_target(), kParams, opts);
        auto got = run_pipeline(b, harl::jit_target());
        for (size_t i = 0; i < got.size(); i++)
            EXPECT_EQ(compare_buffers(got[i], expected[i]), "") << name;
    }
}

TEST(Search, TimeBudgetHolds) {
    Halide::ImageParam in(Halide::Float(32), 2, "in");
    in.set_estimates({{0, 1024}, {0, 1024}});
    std::vector<Halide::Func> fs = long_pipeline(120, in);
    harl::HarlOptions opts;
    opts.time_budget_s = 1.0;
    opts.beam_size = 32;
    opts.max_candidates = 400;
    auto t0 = std::chrono::steady_clock::now();
    harl::AutoscheduleOutput out =
        harl::autoschedule(Halide::Pipeline(fs.back()), harl::host_target(), kParams, opts);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The search stops expanding at the budget and finishes greedily: a complete schedule, in
    // little more than the budget (analysis and emission come on top).
    EXPECT_LT(out.search_seconds, 2.0 * opts.time_budget_s);
    EXPECT_LT(secs, 4.0 * opts.time_budget_s);
    EXPECT_NE(out.schedule_source.find("compute_root"), std::string::npos);
}

TEST(Search, SingleCoreMachineGetsNoParallelLoops) {
    BuiltPipeline b = find_case("conv_bias_relu").build();
    harl::AutoscheduleOutput out =
        harl::autoschedule(Halide::Pipeline(b.outputs), harl::host_target(),
                           Halide::MachineParams(1, 32 << 20, 40), harl::HarlOptions());
    EXPECT_EQ(out.schedule_source.find(".parallel("), std::string::npos) << out.schedule_source;
    BuiltPipeline b2 = find_case("conv_bias_relu").build();
    harl::AutoscheduleOutput out2 =
        harl::autoschedule(Halide::Pipeline(b2.outputs), harl::host_target(), kParams, harl::HarlOptions());
    EXPECT_NE(out2.schedule_source.find(".parallel("), std::string::npos) << out2.schedule_source;
}

// A 3x3 convolution from 4 to 12 channels (rp2-s110509's shape): 12 channels fill no 16-lane
// AVX-512 vector, so the update gets 8-lane vectors along them as well; where 12 channels fill
// a native vector (AVX2's 8 lanes) nothing narrower is offered.
TEST(SearchSpace, ShortInnermostDimsGetNarrowerVectors) {
    auto widths_along_channels = [](const std::string &target) {
        Halide::ImageParam in(Halide::Float(32), 3, "in"), w(Halide::Float(32), 4, "w");
        in.set_estimates({{0, 4}, {0, 34}, {0, 34}});
        w.set_estimates({{0, 12}, {0, 4}, {0, 3}, {0, 3}});
        Halide::Var c("c"), x("x"), y("y");
        Halide::RDom r(0, 4, 0, 3, 0, 3);
        Halide::Func conv("conv");
        conv(c, x, y) = 0.0f;
        conv(c, x, y) += w(c, r.x, r.y, r.z) * in(r.x, x + r.y, y + r.z);
        conv.set_estimates({{0, 12}, {0, 32}, {0, 32}});
        harl::PipelineGraph g({conv.function()}, harl::target_named(target));
        int node = -1;
        for (int i = 0; i < g.num_nodes(); i++) {
            if (g.node(i).name == conv.name()) node = i;
        }
        std::set<int> widths;
        EXPECT_GE(node, 0);
        if (node < 0) return widths;
        const harl::Node &n = g.node(node);
        const harl::Stage &update = n.stages.at(1);
        int channel_loop = -1;
        for (size_t k = 0; k < update.loops.size(); k++) {
            if (update.loops[k].name == c.name()) channel_loop = (int)k;
        }
        EXPECT_GE(channel_loop, 0);
        std::mt19937_64 rng(1);
        for (const harl::StageChoice &sc :
             harl::stage_candidates(update, update.loop_box(n.root), false, false, {},
                                    harl::SearchContext{2, 100000, 32}, rng)) {
            if (sc.vector_var != channel_loop) continue;
            widths.insert(sc.vector_width);
            EXPECT_EQ(sc.tile[channel_loop] % sc.vector_width, 0);
        }
        return widths;
    };
    EXPECT_EQ(widths_along_channels("x86-64-linux-avx2-fma-avx512-avx512_skylake"), std::set<int>{8});
    EXPECT_EQ(widths_along_channels("x86-64-linux-avx2-fma"), std::set<int>{8});
    EXPECT_EQ(widths_along_channels("x86-64-linux-sse41"), std::set<int>{4});
}

TEST(Search, FeaturizationHasVersionedHeader) {
    harl::HarlOptions opts;
    harl::AutoscheduleOutput out = schedule_case("conv_bias_relu", opts);
    ASSERT_GE(out.featurization.size(), 20u);
    EXPECT_EQ(std::memcmp(out.featurization.data(), "HARLFEAT", 8), 0);
    uint32_t hdr[3];
    std::memcpy(hdr, out.featurization.data() + 8, sizeof(hdr));
    EXPECT_EQ(hdr[0], harl::kFeatureLayoutVersion);
    EXPECT_EQ(hdr[2], (uint32_t)harl::kNumFeatures);
    EXPECT_GE(hdr[1], 2u); // conv's two stages at least
    EXPECT_EQ(out.featurization.size(), 20u + hdr[1] * (8u + 4u * hdr[2]));
}

// Halide 14 takes AMD Zen 4 (AVX512-BF16 and -VNNI, no AVX512-FP16 or AVX-VNNI) for Sapphire
// Rapids, and such code dies of SIGILL there (random pipeline 61022's histogram did). Code that
// runs here keeps that feature only where the kernel reports both extensions too; other
// architectures' targets pass through.
TEST(HostTarget, SapphireRapidsOnlyWhereTheCpuRunsIt) {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line, flags;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("flags", 0) == 0) {
            flags = line + " ";
            break;
        }
    }
    if (flags.empty() || Halide::get_host_target().arch != Halide::Target::X86)
        GTEST_SKIP() << "not x86 Linux";
    const bool runs =
        flags.find(" avx512_fp16 ") != std::string::npos && flags.find(" avx_vnni ") != std::string::npos;
    EXPECT_EQ(harl::cpu_runs_sapphire_rapids_code(), runs) << flags;
    const Halide::Target spr("x86-64-linux-avx-avx2-avx512-avx512_cannonlake-avx512_sapphirerapids-"
                             "avx512_skylake-f16c-fma-sse41");
    EXPECT_EQ(harl::runnable_here(spr).has_feature(Halide::Target::AVX512_SapphireRapids), runs);
    EXPECT_TRUE(harl::runnable_here(spr).has_feature(Halide::Target::AVX512_Cannonlake));
    EXPECT_EQ(harl::host_target().has_feature(Halide::Target::AVX512_SapphireRapids),
              runs && Halide::get_host_target().has_feature(Halide::Target::AVX512_SapphireRapids));
    const Halide::Target arm("arm-64-linux");
    EXPECT_EQ(harl::runnable_here(arm), arm);
}

// A target this CPU cannot run (Halide 14's "host" on Zen 4) gets a warning that says what to do;
// a runnable one gets none.
TEST(HostTarget, UnrunnableHostTargetIsWarnedAbout) {
    const Halide::Target spr("x86-64-linux-avx-avx2-avx512-avx512_cannonlake-avx512_sapphirerapids-"
                             "avx512_skylake-f16c-fma-sse41");
    for (const Halide::Target &t : {spr, harl::runnable_here(spr)}) {
        BuiltPipeline b = find_case("pointwise_chain_f32").build();
        testing::internal::CaptureStderr();
        harl::autoschedule(Halide::Pipeline(b.outputs), t, kParams, harl::HarlOptions());
        const std::string err = testing::internal::GetCapturedStderr();
        const bool warned = err.find("avx512_sapphirerapids") != std::string::npos;
        const bool unrunnable = Halide::get_host_target().arch == Halide::Target::X86 &&
                                t.has_feature(Halide::Target::AVX512_SapphireRapids) &&
                                !harl::cpu_runs_sapphire_rapids_code();
        EXPECT_EQ(warned, unrunnable) << t.to_string() << ": " << err;
    }
}

// A consumer that reads its producer at x and at x/2 needs, per tile, everything between the
// two: a tile at the origin needs one tile's worth, one in the middle of the image half the
// image. Footprints are evaluated on a tile in the middle (Halide allocates and computes the
// box for every tile), so such a compute_at shows its redundancy: in collected data HARL had
// picked schedules like this 500x slower than the best, taking them for cheap.
// L1 has 64 sets of 8 ways (32 KB, 64-byte lines): rows 4 KB apart share one set.
TEST(CacheSets, RowsAPowerOfTwoApartThrashOneSet) {
    const double nan = std::nan("");
    EXPECT_EQ(harl::l1_thrashing_lines({4096, 16}), 16) << "16 rows, one set, 8 ways";
    EXPECT_EQ(harl::l1_thrashing_lines({4096, 8}), 0) << "8 rows fit the set's ways";
    EXPECT_EQ(harl::l1_thrashing_lines({4160, 16}), 0) << "rows a line further apart spread over sets";
    // 16 lanes within a line, 16 rows: still 16 lines, each counted once.
    EXPECT_EQ(harl::l1_thrashing_lines({4, 16, 4096, 16}), 16);
    EXPECT_EQ(harl::l1_thrashing_lines({4096, 16, 4, 16}), 16) << "the same lines, loops the other way";
    // A loop the accesses do not move with repeats them: no new lines.
    EXPECT_EQ(harl::l1_thrashing_lines({0, 100, 4096, 16}), 16);
    EXPECT_EQ(harl::l1_thrashing_lines({0, 300, 4096, 16}), 0) << "more than 4096 points: not modelled";
    EXPECT_EQ(harl::l1_thrashing_lines({nan, 4, 4096, 16}), 0) << "a stride known only at run time";
    EXPECT_EQ(harl::l1_thrashing_lines({4096, 16}), 16) << "asked again: the remembered answer";

    // A 1 x 16 region of float storage 1024 wide: 16 one-line rows, all in one set, which then
    // evict as if every set held as many.
    const harl::Region tall = {{0, 0}, {0, 15}};
    EXPECT_EQ(harl::RegionLines(tall, {{0, 1023}, {0, 1023}}, 4).lines(), 16);
    EXPECT_EQ(harl::RegionLines(tall, {{0, 1023}, {0, 1023}}, 4).occupied(64, 8), 16 * 64);
    EXPECT_EQ(harl::RegionLines(tall, {{0, 1039}, {0, 1023}}, 4).occupied(64, 8), 16) << "rows 4160 B apart";
    // Rows covered whole are one contiguous run.
    EXPECT_EQ(harl::RegionLines({{0, 1023}, {0, 15}}, {{0, 1023}, {0, 1023}}, 4).lines(), 16 * 4096 / 64);
}

TEST(Featurizer, MixedScaleReadsCostWhatAMiddleTileNeeds) {
    Halide::ImageParam in(Halide::Float(32), 1, "in");
    in.set_estimates({{0, 4096}});
    Halide::Var x("x");
    Halide::Func f("f"), g("g");
    f(x) = in(x)*2.0f;
    g(x) = f(x) + f(x / 2);
    g.set_estimates({{0, 4096}});
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma");
    std::string rfactor;
    auto graph = harl::analyse_pipeline(Halide::Pipeline(g), t, kParams, &rfactor);
    // g: 16-lane vectors, 64-point tiles; f computed per tile of g (loop 2, the tile loop).
    const std::string source = "// Decisions:\n"
                               "//   g: root | tiles 64 vec 0x16\n"
                               "//   f: at g loop 2 | tiles 64 vec 0x16\n"
                               "//   in_im: inline\n\n"; // the ImageParam's wrapper Func
    const harl::ScheduleState s = harl::replay_decisions(*graph, 2, source);
    harl::Featurizer fz(s, harl::make_machine_info(t, kParams));
    int f_node = -1;
    for (int i = 0; i < graph->num_nodes(); i++)
        if (graph->node(i).name == f.name()) f_node = i;
    ASSERT_GE(f_node, 0);
    const std::vector<harl::StageFeatures> ff = fz.node_features(f_node);
    ASSERT_EQ(ff.size(), 1u);
    // The middle tile of g, [2016, 2079], needs f over [1008, 2079].
    EXPECT_NEAR(ff[0][harl::F_points_per_realization], 1072, 2);
    EXPECT_GT(ff[0][harl::F_redundancy], 10);
}

// A 1024x1024 GEMM whose register block holds 16 rows of A: the rows lie 4 KB apart, so the 16
// lines one block reads all fall into one L1 set of 8 ways and miss on every block. Those
// misses count as L2 traffic; a block of 8 rows fits its set. (HARL's 16-row pick ran at 42%
// of an AVX-512 machine's peak, Adams2019's 8-row one at 86%.)
TEST(Featurizer, RegisterBlocksThatThrashAnL1SetPayForIt) {
    const int N = 1024;
    Halide::ImageParam A(Halide::Float(32), 2, "A"), B(Halide::Float(32), 2, "B");
    A.set_estimates({{0, N}, {0, N}});
    B.set_estimates({{0, N}, {0, N}});
    Halide::Var i("i"), j("j");
    Halide::RDom k(0, N);
    Halide::Func prod("prod"), C("C");
    prod(j, i) = 0.0f;
    prod(j, i) += A(k, i) * B(j, k);
    C(j, i) = prod(j, i);
    C.set_estimates({{0, N}, {0, N}});
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-avx512-avx512_skylake-fma");
    std::string rfactor;
    auto graph = harl::analyse_pipeline(Halide::Pipeline(C), t, kParams, &rfactor);
    auto l2_bytes = [&](int rows) {
        const std::string r = std::to_string(rows);
        const harl::ScheduleState s = harl::replay_decisions(
            *graph, 2,
            "// Decisions:\n//   C: root | tiles 16 " + r +
                " vec 0x16 par 1\n//   prod: at C loop 2 | tiles 16 1 vec 0x16 | tiles 1 16 " + r +
                " vec 1x16 unroll\n//   B_im: inline\n//   A_im: inline\n\n");
        for (const harl::StageFeatures &f :
             harl::featurize_all(s, harl::make_machine_info(t, kParams), nullptr, nullptr))
            if (f[harl::F_is_update] > 0) return (double)f[harl::F_bytes_from_l2_total];
        return -1.0;
    };
    const double eight = l2_bytes(8), sixteen = l2_bytes(16);
    ASSERT_GT(eight, 0);
    // Every block of 16 rows reloads its 16 lines of A: 64 B per row per k step.
    EXPECT_GT(sixteen, 1e9) << eight;
    EXPECT_GT(sixteen, 5 * eight);
}

// The pipeline ending in `out`, analysed for `t`, scheduled by the decision lines (the replay
// syntax of a schedule's decisions, one "//   func: ..." line per Func): every scheduled stage's
// features and the analytic model's seconds for it.
struct ReplayedStages {
    std::vector<harl::StageFeatures> features;
    std::vector<double> seconds;
};
static ReplayedStages replay_with_analytic_cost(Halide::Func out, const Halide::Target &t,
                                                const std::string &decision_lines, int parallelism = 2) {
    std::string rfactor;
    auto graph = harl::analyse_pipeline(Halide::Pipeline(out), t, kParams, &rfactor);
    const harl::ScheduleState s =
        harl::replay_decisions(*graph, parallelism, "// Decisions:\n" + decision_lines + "\n");
    ReplayedStages r;
    r.features = harl::featurize_all(s, harl::make_machine_info(t, kParams), nullptr, nullptr);
    harl::make_analytic_cost_model(harl::make_machine_info(t, kParams))->predict(r.features, &r.seconds);
    return r;
}

// A transpose reads its input down columns: every element it reads lies on a line of its own,
// so an untiled walk pulls a whole 64-byte line per element through L1 (a column of 1000 lines
// does not stay in L1 for the next one), while 16x16 tiles use each line 16 times. Unless the
// rows are 4 KB apart: then a tile's 16 lines all fall into one 8-way L1 set and evict each
// other, and tiling saves nothing. The line_bytes entries (layout 3) count this; the element
// counts of bytes_from_l2_total see 4 bytes per element in all three.
TEST(Featurizer, ColumnWalksPullAWholeLinePerElement) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma");
    auto l2_bytes = [&](int n, const std::string &tiles) {
        Halide::ImageParam in(Halide::Float(32), 2, "in");
        in.set_estimates({{0, n}, {0, n}});
        Halide::Var x("x"), y("y");
        Halide::Func out("out");
        out(x, y) = in(y, x);
        out.set_estimates({{0, n}, {0, n}});
        const ReplayedStages replayed =
            replay_with_analytic_cost(out, t, "//   out: root | tiles " + tiles + "\n//   in_im: inline\n");
        EXPECT_EQ(replayed.features.size(), 1u);
        return std::make_pair((double)replayed.features.at(0)[harl::F_line_bytes_from_l2_total],
                              replayed.seconds.at(0));
    };
    const auto untiled = l2_bytes(1000, "1 1"), tiled = l2_bytes(1000, "16 16");
    EXPECT_GT(untiled.first, 0.5 * 1000 * 1000 * 64) << "tiled " << tiled.first;
    EXPECT_LT(tiled.first, untiled.first / 4);
    EXPECT_GT(l2_bytes(1024, "16 16").first, 0.5 * 1024 * 1024 * 64);
    // The analytic model charges the lines.
    EXPECT_GT(untiled.second, 1.5 * tiled.second);
}

// A 1x1 convolution whose accumulator block is 16 rows along y inside the reduction loop, kept
// in memory (not unrolled). With 64 channels of width 16 the rows lie 4 KB apart: all 16 lines
// fall into one 8-way L1 set, so every reduction step misses on every accumulator and the
// stores stall. Measured here (Zen 4) on a 3x3 version (32 to 64 channels, 32 rows): 3.48 ms at
// width 16 against 0.42 ms at width 17; with 256 to 192 channels, 16 rows: 30.0 ms against
// 2.9 ms. Layout 4's accumulator_conflict_lines_total counts those lines; a block of 4 rows
// fits its set, and width 17 spreads the rows over sets. (LLVM sometimes keeps such a block in
// registers anyway; the feature cannot see that.)
TEST(Featurizer, AccumulatorRowsCrowdingOneL1SetAreConflictMisses) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma-avx512-avx512_skylake");
    auto conflicts = [&](int width, int rows) {
        const int channels = 64, height = 32, reduction = 32;
        Halide::ImageParam in(Halide::Float(32), 3, "in"), w(Halide::Float(32), 2, "w");
        in.set_estimates({{0, reduction}, {0, width}, {0, height}});
        w.set_estimates({{0, channels}, {0, reduction}});
        Halide::Var c("c"), x("x"), y("y");
        Halide::RDom r(0, reduction);
        Halide::Func conv("conv");
        conv(c, x, y) = 0.0f;
        conv(c, x, y) += w(c, r) * in(r, x, y);
        conv.set_estimates({{0, channels}, {0, width}, {0, height}});
        const ReplayedStages replayed = replay_with_analytic_cost(
            conv, t,
            "//   conv: root | tiles 16 1 1 vec 0x16 | tiles 1 16 1 " + std::to_string(rows) +
                " vec 1x16\n//   w_im: inline\n//   in_im: inline\n");
        EXPECT_EQ(replayed.features.size(), 2u);
        const harl::StageFeatures &update = replayed.features.at(1);
        EXPECT_EQ(update[harl::F_accumulator_memory_ops], 2.0f) << "the block is not unrolled";
        return std::make_pair((double)update[harl::F_accumulator_conflict_lines_total],
                              replayed.seconds.at(1) / update[harl::F_points_total]);
    };
    const auto crowded = conflicts(16, 16), spread = conflicts(17, 16), fits = conflicts(16, 4);
    // Every reduction step (32) of every block (4 channel vectors x 16 columns x 2 row blocks)
    // misses on its 16 accumulator lines.
    EXPECT_EQ(crowded.first, 32.0 * 4 * 16 * 2 * 16);
    EXPECT_EQ(spread.first, 0);
    EXPECT_EQ(fits.first, 0);
    // The analytic model charges them: more than twice the time per point.
    EXPECT_GT(crowded.second, 2 * spread.second);
}

// Halide's bounds inference trims what a clamped index reads to the clamp: a Func read only
// through clamps (BoundaryConditions) is realized over its own extent, not that plus the
// consumer's halo. HARL strips constant clamps to keep stencil accesses affine, and its root
// regions used to keep the halo, so the rows of a 64-wide convolution looked 65 points apart:
// the accumulator rows that crowd one L1 set looked spread over sets. Measured here (Zen 4,
// 48 to 48 channels, 3x3, 64x48, 16 rows innermost in the update, not unrolled): 15.4 ms at
// width 64, 1.8 ms at width 65; on 85 random pipelines no change had been made on, the
// analytic model's pairwise ranking rose from 0.715 to 0.727.
TEST(PipelineGraph, ClampedReadsDoNotWidenRootRegions) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma-avx512-avx512_skylake");
    auto conflicts = [&](int width) {
        const int channels = 48, height = 48;
        Halide::ImageParam in(Halide::Float(32), 3, "in"), w(Halide::Float(32), 4, "w");
        in.set_estimates({{0, channels}, {0, width + 2}, {0, height + 2}});
        w.set_estimates({{0, channels}, {0, channels}, {0, 3}, {0, 3}});
        Halide::Var c("c"), x("x"), y("y");
        Halide::RDom r(0, channels, 0, 3, 0, 3);
        Halide::Func conv("conv"), out("out");
        conv(c, x, y) = 0.0f;
        conv(c, x, y) += w(c, r.x, r.y, r.z) * in(r.x, x + r.y, y + r.z);
        // A stride-2 stencil over conv with its edges repeated.
        auto at = [&](Halide::Expr xx, Halide::Expr yy) {
            return conv(c, Halide::clamp(xx, 0, width - 1), Halide::clamp(yy, 0, height - 1));
        };
        out(c, x, y) = at(2 * x - 1, 2 * y) + at(2 * x + 1, 2 * y + 1);
        out.set_estimates({{0, channels}, {0, (width + 1) / 2}, {0, height / 2}});
        std::string rfactor;
        auto graph = harl::analyse_pipeline(Halide::Pipeline(out), t, kParams, &rfactor);
        int conv_nodes = 0;
        for (int i = 0; i < graph->num_nodes(); i++) {
            if (graph->node(i).name != conv.name()) continue; // "conv$1" the second time
            conv_nodes++;
            const harl::Region &root = graph->node(i).root;
            EXPECT_EQ(root.at(1).min, 0);
            EXPECT_EQ(root.at(1).max, width - 1);
            EXPECT_EQ(root.at(2).min, 0);
            EXPECT_EQ(root.at(2).max, height - 1);
        }
        EXPECT_EQ(conv_nodes, 1);
        const ReplayedStages replayed = replay_with_analytic_cost(
            out, t,
            "//   out: root | tiles 16 1 1 vec 0x16\n"
            "//   conv: root | tiles 16 1 1 vec 0x16 | tiles 1 1 1 16 1 16 vec 3x16\n"
            "//   w_im: inline\n//   in_im: inline\n");
        EXPECT_EQ(replayed.features.size(), 3u);
        const harl::StageFeatures &update = replayed.features.at(2);
        EXPECT_EQ(update[harl::F_is_update], 1);
        return std::make_pair((double)update[harl::F_accumulator_conflict_lines_total],
                              replayed.seconds.at(2));
    };
    const auto crowded = conflicts(64), spread = conflicts(65);
    EXPECT_GT(crowded.first, 0) << "16 rows 12 KB apart share one L1 set";
    EXPECT_EQ(spread.first, 0);
    EXPECT_GT(crowded.second, 2 * spread.second);
}

// The analytic model's seconds per point of the update of a 64->`out_channels` channel 1x1
// convolution over a 64x32 map, its pure definition vectorised along the channels (16 lanes, or
// as many as there are channels) and its update scheduled by `update_decision` (the replay
// syntax of a schedule's decisions), with the update's features.
static std::pair<double, harl::StageFeatures>
conv1x1_update_cost(const std::string &update_decision, bool weights_along_r = false, int out_channels = 64) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma-avx512-avx512_skylake");
    Halide::ImageParam in(Halide::Float(32), 3, "in"), w(Halide::Float(32), 2, "w");
    in.set_estimates({{0, 64}, {0, 64}, {0, 32}});
    w.set_estimates({{0, weights_along_r ? 64 : out_channels}, {0, weights_along_r ? out_channels : 64}});
    Halide::Var c("c"), x("x"), y("y");
    Halide::RDom r(0, 64);
    Halide::Func conv("conv");
    conv(c, x, y) = 0.0f;
    conv(c, x, y) += (weights_along_r ? w(r, c) : w(c, r)) * in(r, x, y);
    conv.set_estimates({{0, out_channels}, {0, 64}, {0, 32}});
    const std::string lanes = std::to_string(std::min(16, out_channels));
    const ReplayedStages replayed =
        replay_with_analytic_cost(conv, t,
                                  "//   conv: root | tiles " + lanes + " 1 1 vec 0x" + lanes + " | " +
                                      update_decision + "\n//   w_im: inline\n//   in_im: inline\n");
    EXPECT_EQ(replayed.features.size(), 2u);
    return std::make_pair(replayed.seconds.at(1) / replayed.features.at(1)[harl::F_points_total],
                          replayed.features.at(1));
}

// A 1x1 convolution vectorised along its channels (dense vector stores, accumulators in
// registers) or across x (each vector's lanes 64 channels apart: loads gathered, accumulators
// gathered and scattered on every reduction step, since LLVM keeps only dense vectors in
// registers). Measured here (Zen 4, 64 to 64 channels, 64x32): 0.33 ms against 1.62 ms. The
// analytic model charges the scattered block several times the dense one.
TEST(Featurizer, ScatteredAccumulatorsCostMoreThanDenseOnes) {
    const auto dense = conv1x1_update_cost("tiles 1 16 4 1 vec 1x16 unroll"),
               scattered = conv1x1_update_cost("tiles 1 4 16 1 vec 2x16 unroll");
    EXPECT_EQ(dense.second[harl::F_store_stride], 1);
    EXPECT_EQ(scattered.second[harl::F_store_stride], 64);
    EXPECT_GT(scattered.second[harl::F_gather_loads], 0);
    EXPECT_GT(scattered.first, 3 * dense.first);
}

// An unvectorised update whose innermost loop runs along its storage's dense dimension is
// vectorised by LLVM's loop vectoriser; one whose innermost loop runs across it is not.
// Measured here (Zen 4, the convolution of conv1x1_update_cost, one thread): 16 channels
// innermost 0.40 ms, 16 pixels innermost 4.19 ms.
TEST(Featurizer, DenseScalarInnerLoopsAreVectorisedByLlvm) {
    const auto along = conv1x1_update_cost("tiles 1 16 1 1"), across = conv1x1_update_cost("tiles 1 1 16 1");
    EXPECT_EQ(along.second[harl::F_vector_width], 1);
    EXPECT_EQ(along.second[harl::F_scalar_dense_inner_extent], 16);
    EXPECT_EQ(across.second[harl::F_scalar_dense_inner_extent], 0);
    EXPECT_EQ(along.second[harl::F_scalar_inner_gather_loads], 0);
    EXPECT_GT(across.first, 3 * along.first);

    // Loads far apart along that loop are gathered lane by lane: little gain.
    // Measured here (32x32, in L1, 16-wide inner loop): 0.15-0.21 us reading rows, 0.46 us
    // reading columns (256x256: 4.7 against 62 us, mostly the lines a column walk pulls).
    auto copy_cost = [](bool transposed) {
        const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma-avx512-avx512_skylake");
        Halide::ImageParam in(Halide::Float(32), 2, "in");
        in.set_estimates({{0, 32}, {0, 32}});
        Halide::Var c("c"), x("x");
        Halide::Func f("f");
        f(c, x) = (transposed ? in(x, c) : in(c, x)) * 2.0f + 1.0f;
        f.set_estimates({{0, 32}, {0, 32}});
        const ReplayedStages replayed =
            replay_with_analytic_cost(f, t, "//   f: root | tiles 16 1\n//   in_im: inline\n", 1);
        return std::make_pair(replayed.seconds.at(0), replayed.features.at(0));
    };
    const auto rows = copy_cost(false), columns = copy_cost(true);
    EXPECT_EQ(rows.second[harl::F_scalar_dense_inner_extent], 16);
    EXPECT_EQ(columns.second[harl::F_scalar_dense_inner_extent], 16);
    EXPECT_EQ(rows.second[harl::F_scalar_inner_gather_loads], 0);
    EXPECT_EQ(columns.second[harl::F_scalar_inner_gather_loads], 1);
    EXPECT_GT(columns.first, 2 * rows.first);
}

// An unvectorised update whose innermost loop is an RVar its stores do not move with keeps its
// accumulator in a register, and LLVM vectorises the reduction when the loads are dense along
// it. Measured here (the convolution of conv1x1_update_cost with r innermost, one thread):
// weights dense along r 0.34 ms, weights 64 apart along r 5.57 ms. A histogram's stores move
// with its RVar: no reduction into one accumulator.
TEST(Featurizer, InnermostReductionsAreVectorisedByLlvm) {
    const auto dense = conv1x1_update_cost("tiles 1 1 1 1", true),
               strided = conv1x1_update_cost("tiles 1 1 1 1");
    EXPECT_EQ(dense.second[harl::F_inner_reduction_extent], 64);
    EXPECT_EQ(dense.second[harl::F_inner_reduction_gather_loads], 0);
    EXPECT_EQ(strided.second[harl::F_inner_reduction_gather_loads], 1);
    EXPECT_GT(strided.first, 2 * dense.first); // the gathered chain is latency-bound: more still

    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma-avx512-avx512_skylake");
    Halide::ImageParam in(Halide::UInt(8), 1, "in");
    in.set_estimates({{0, 4096}});
    Halide::Var i("i");
    Halide::RDom r(0, 4096);
    Halide::Func hist("hist");
    hist(i) = 0;
    hist(Halide::cast<int>(in(r))) += 1;
    hist.set_estimates({{0, 256}});
    const auto f =
        replay_with_analytic_cost(hist, t, "//   hist: root | tiles 256 | tiles 1\n//   in_im: inline\n")
            .features;
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[1][harl::F_is_update], 1);
    EXPECT_EQ(f[1][harl::F_inner_reduction_extent], 0);
}

// A 3-tap stencil along x over an image with its edges repeated (repeat_edge: clamps on every
// dimension), vectorised along the channels, computed at root or inside its consumer's tiles
// of 8 columns: the clamps along x cut (the halo), so Halide partitions the loops over x, and in
// their first and last iterations it keeps every clamp, the channels' too: the three loads
// there are clamped ramps, gathers. Inside 8-column tiles those are 2 of every 8 tiles; at root
// 2 of 64 columns. Without the boundary condition nothing is clamped.
TEST(Featurizer, ClampedVectorLanesAreGathersInBorderTiles) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma-avx512-avx512_skylake");
    auto stencil = [&](bool repeat_edge, const std::string &decisions) {
        Halide::ImageParam in(Halide::Float(32), 3, "in");
        in.set_estimates({{0, 48}, {0, repeat_edge ? 64 : 66}, {0, 32}});
        Halide::Var c("c"), x("x"), y("y");
        Halide::Func src = repeat_edge ? Halide::BoundaryConditions::repeat_edge(in) : Halide::Func(in);
        const int o = repeat_edge ? 1 : 0;
        Halide::Func f("f"), out("out");
        f(c, x, y) = src(c, x - o, y) + 2.0f * src(c, x + 1 - o, y) + src(c, x + 2 - o, y);
        out(c, x, y) = f(c, x, y) * 0.5f + 1.0f;
        out.set_estimates({{0, 48}, {0, 64}, {0, 32}});
        const ReplayedStages r = replay_with_analytic_cost(out, t, decisions);
        EXPECT_EQ(r.features.size(), 2u);
        return std::make_pair(r.features.at(1), r.seconds.at(1));
    };
    const std::string wrappers = "//   repeat_edge: inline\n//   lambda: inline\n//   in_im: inline\n";
    const auto root = stencil(true, "//   out: root | tiles 16 1 1 vec 0x16\n"
                                    "//   f: root | tiles 16 1 1 vec 0x16\n" +
                                        wrappers);
    const auto tiled = stencil(true, "//   out: root | tiles 16 8 1 vec 0x16\n"
                                     "//   f: at out loop 3 | tiles 16 1 1 vec 0x16\n" +
                                         wrappers);
    const auto plain = stencil(false, "//   out: root | tiles 16 8 1 vec 0x16\n"
                                      "//   f: at out loop 3 | tiles 16 1 1 vec 0x16\n//   in_im: inline\n");
    for (const auto *s : {&root, &tiled})
        EXPECT_EQ(s->first[harl::F_clamped_lane_loads], 3);
    EXPECT_FLOAT_EQ(root.first[harl::F_border_fraction], 2.0f / 64);
    EXPECT_FLOAT_EQ(tiled.first[harl::F_border_fraction], 2.0f / 8);
    EXPECT_FLOAT_EQ(tiled.first[harl::F_border_gather_loads], 3 * 2.0f / 8);
    EXPECT_EQ(plain.first[harl::F_clamped_lane_loads], 0);
    EXPECT_EQ(plain.first[harl::F_border_gather_loads], 0);
    // The analytic model charges those gathers: a lane each.
    harl::StageFeatures no_gathers = tiled.first;
    no_gathers[harl::F_border_gather_loads] = 0;
    std::vector<double> seconds;
    harl::make_analytic_cost_model(harl::make_machine_info(t, kParams))->predict({no_gathers}, &seconds);
    EXPECT_GT(tiled.second, 1.2 * seconds.at(0));
}

// Halide's simplifier turns a float division by a constant into a multiplication by its
// reciprocal, and an integer one by a power of two into a shift: neither is charged as a
// division.
TEST(PipelineGraph, DivisionsByConstantsAreNotDivisions) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma");
    Halide::ImageParam fin(Halide::Float(32), 1, "fin"), iin(Halide::Int(32), 1, "iin");
    fin.set_estimates({{0, 1024}});
    iin.set_estimates({{0, 1024}});
    Halide::Var x("x");
    Halide::Func out("out");
    out(x) = fin(x) / 3.0f + Halide::cast<float>(iin(x) / 4) + fin(x) / fin(x + 1) +
             Halide::cast<float>(iin(x) / 3);
    out.set_estimates({{0, 1000}});
    std::string rfactor;
    auto graph = harl::analyse_pipeline(Halide::Pipeline(out), t, kParams, &rfactor);
    for (int i = 0; i < graph->num_nodes(); i++) {
        if (graph->node(i).name != out.name()) continue;
        const harl::OpCounts &ops = graph->node(i).stages.at(0).ops;
        EXPECT_EQ(ops[harl::OpFDiv], 1) << "fin(x) / fin(x + 1) only";
        EXPECT_EQ(ops[harl::OpIDiv], 1) << "iin(x) / 3 only";
    }
}

// LLVM's loop vectoriser gathers loads whose elements are not adjacent along the loop it
// vectorises, even a few apart. Measured here (Zen 4, one thread): a scalar reduction over 64
// inputs, weights 2, 4, 8 or 64 apart along it, 0.53-0.71 ns per point; adjacent, 0.04-0.12.
TEST(Featurizer, LlvmGathersLoadsAFewElementsApart) {
    // Four output channels: the weights w(c, r) lie 4 apart along the reduction.
    auto update = [](bool weights_along_r) {
        return conv1x1_update_cost("tiles 1 1 1 1", weights_along_r, 4);
    };
    const auto adjacent = update(true), four_apart = update(false);
    EXPECT_EQ(adjacent.second[harl::F_inner_reduction_extent], 64);
    EXPECT_EQ(four_apart.second[harl::F_inner_reduction_extent], 64);
    EXPECT_EQ(adjacent.second[harl::F_inner_reduction_gather_loads], 0);
    EXPECT_EQ(four_apart.second[harl::F_inner_reduction_gather_loads], 1);
    EXPECT_GT(four_apart.first, 2 * adjacent.first);
}

// A float convolution over channels and taps x taps: conv(c, x, y) += w(c, r.x, r.y, r.z) *
// in(r.x, x + r.y, y + r.z), its pure and update decisions replayed; the update's features and
// analytic estimate.
struct ConvShape {
    int in_channels, out_channels, taps, width, height;
};
static std::pair<harl::StageFeatures, double>
conv_update_replayed(const ConvShape &cs, const std::string &pure, const std::string &update) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma-avx512-avx512_skylake");
    Halide::ImageParam in(Halide::Float(32), 3, "in"), w(Halide::Float(32), 4, "w");
    in.set_estimates({{0, cs.in_channels}, {0, cs.width + cs.taps - 1}, {0, cs.height + cs.taps - 1}});
    w.set_estimates({{0, cs.out_channels}, {0, cs.in_channels}, {0, cs.taps}, {0, cs.taps}});
    Halide::Var c("c"), x("x"), y("y");
    Halide::RDom r(0, cs.in_channels, 0, cs.taps, 0, cs.taps);
    Halide::Func conv("conv");
    conv(c, x, y) = 0.0f;
    conv(c, x, y) += w(c, r.x, r.y, r.z) * in(r.x, x + r.y, y + r.z);
    conv.set_estimates({{0, cs.out_channels}, {0, cs.width}, {0, cs.height}});
    const ReplayedStages replayed = replay_with_analytic_cost(
        conv, t, "//   conv: root | " + pure + " | " + update + "\n//   w_im: inline\n//   in_im: inline\n");
    EXPECT_EQ(replayed.features.size(), 2u);
    return std::make_pair(replayed.features.at(1), replayed.seconds.at(1));
}

// A vectorised float reduction adds into each accumulator vector once per reduction step, a
// chain of dependent adds: one accumulator through a 3x3x16 reduction waits on the add latency,
// six do not. (dl2-s110512, Zen 4: a 3x3 convolution over 16 channels computed per 16-channel
// vector inside a ReLU's loops, one accumulator, ran 4.1 ms; at root with six, 1.25 ms. Short
// chains of consecutive blocks overlap in the core's window: a 1x1 convolution over 16
// channels with one accumulator ran as fast as with six.)
TEST(Featurizer, FewAccumulatorsWaitOnTheirChains) {
    auto update = [&](int taps, const std::string &decision) {
        return conv_update_replayed({16, 32, taps, 64, 64}, "tiles 16 1 1 vec 0x16", decision);
    };
    const auto one = update(3, "tiles 1 1 1 16 1 1 vec 3x16"),
               six = update(3, "tiles 1 1 1 16 6 1 vec 3x16 unroll");
    EXPECT_EQ(one.first[harl::F_reduction_chain_steps], 144);
    EXPECT_EQ(one.first[harl::F_accumulator_registers], 1);
    EXPECT_EQ(six.first[harl::F_accumulator_registers], 6);
    EXPECT_GT(one.second, 2 * six.second);
    const auto short_one = update(1, "tiles 1 1 1 16 1 1 vec 3x16"),
               short_six = update(1, "tiles 1 1 1 16 6 1 vec 3x16 unroll");
    EXPECT_EQ(short_one.first[harl::F_reduction_chain_steps], 16);
    EXPECT_LT(short_one.second, 1.5 * short_six.second);
}

// An update whose accumulators live in memory walks its whole block of them on every reduction
// step; a block larger than the L1 data cache comes back from L2 on every step. The unseen random
// pipeline 9992312's 1x1 convolution over 192 channels, the learned model's pick, kept 96
// channels x 3 x 32 pixels of accumulators (36 KB) and ran 22 ms; the analytic model's pick, 16
// channels x 85 pixels (5 KB), 2.8 ms. Both were charged about 5 ms.
TEST(AnalyticModel, AccumulatorBlocksBeyondL1ComeBackFromL2) {
    const ConvShape shape{192, 96, 1, 85, 88};
    const auto small =
        conv_update_replayed(shape, "tiles 64 32 3 vec 0x16 par 1", "tiles 1 1 1 16 85 1 vec 3x16 par 1");
    const auto large =
        conv_update_replayed(shape, "tiles 64 4 3 vec 0x16 par 1", "tiles 1 1 1 96 3 32 vec 3x16 par 2");
    EXPECT_EQ(small.first[harl::F_accumulator_memory_ops], 2);
    EXPECT_EQ(large.first[harl::F_accumulator_memory_ops], 2);
    EXPECT_EQ(large.first[harl::F_inner_tile_points], 96 * 3 * 32);
    EXPECT_LT(small.first[harl::F_inner_tile_points] * 4, harl::AnalyticConstants{}.l1_block_bytes);
    EXPECT_GT(large.first[harl::F_inner_tile_points] * 4, harl::AnalyticConstants{}.l1_block_bytes);
    EXPECT_GT(large.second, 1.5 * small.second);
}

// False sharing (layout 7): a parallel loop whose tasks each write less than a cache line of
// contiguous storage makes neighbouring tasks, which run on different cores, store into the
// same lines; an update does so on every reduction step. The unseen random pipeline 9500004's
// strided convolution, its 4 channels in 16 bytes and one x per task, ran 1.2-20 ms against
// 0.3 ms with 4 x per task (a whole line) or whole rows per task.
TEST(Featurizer, ParallelTasksSharingLinesPayForEachStore) {
    auto update = [&](const std::string &decision) {
        return conv_update_replayed({12, 4, 3, 64, 32}, "tiles 4 1 1 vec 0x4", decision);
    };
    const double vector_steps = 4.0 * 64 * 32 * 108 / 4;
    // One x (16 bytes) per task, tasks stepping along x: every accumulator store is shared.
    const auto column = update("tiles 1 1 1 4 1 16 vec 3x4 par 2");
    EXPECT_EQ(column.first[harl::F_shared_line_stores_total], vector_steps);
    // Two x (32 bytes): still less than a line.
    EXPECT_EQ(update("tiles 1 1 1 4 2 16 vec 3x4 par 2").first[harl::F_shared_line_stores_total],
              vector_steps);
    // Six x (96 bytes): the line at each end of a task is shared, two thirds of a line.
    EXPECT_NEAR(update("tiles 1 1 1 4 6 16 vec 3x4 par 2").first[harl::F_shared_line_stores_total],
                vector_steps * 64 / 96, 1);
    // Four x (a whole line), or tasks of whole rows: none.
    const auto line = update("tiles 1 1 1 4 4 16 vec 3x4 par 2");
    EXPECT_EQ(line.first[harl::F_shared_line_stores_total], 0);
    const auto rows = update("tiles 1 1 1 4 1 16 vec 3x4 par 1");
    EXPECT_EQ(rows.first[harl::F_shared_line_stores_total], 0);
    // No parallel loop: none. Fusing the channels' single outer iteration in too: tasks still
    // step along x.
    EXPECT_EQ(update("tiles 1 1 1 4 1 16 vec 3x4").first[harl::F_shared_line_stores_total], 0);
    EXPECT_EQ(update("tiles 1 1 1 4 1 16 vec 3x4 par 3").first[harl::F_shared_line_stores_total],
              vector_steps);
    // The analytic model charges the shared stores of accumulators in memory.
    EXPECT_GT(column.second, 1.5 * line.second);
    EXPECT_GT(column.second, 1.5 * rows.second);
}

// Heap allocations (layout 8): Halide puts a buffer on the stack only when its size is a
// compile-time constant (up to 16 KB). A Func computed per tile of its consumer has one; one
// computed per row of it spans the row's runtime extent, and one read at x/2 has a size that
// depends on where the tile starts: both are allocated and freed on the heap in every
// iteration. The featurizer's count must agree with Halide's own lowering. (Unseen layer
// 9700010, a max pool: 60-86% of two schedules' time went to halide_malloc and halide_free.)
TEST(Featurizer, BuffersSizedAtRunTimeAreHeapAllocations) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma");
    const int W = 1024, H = 64;
    struct Case {
        bool halved;
        std::string f_decision;
        double heap; // expected heap allocations of f per run
    };
    // g: 64-point tiles of 16-lane vectors along x, rows: loops [x_v, x_i, x_o, y].
    const std::vector<Case> cases = {{false, "at g loop 2", 0},
                                     {false, "at g loop 3", H},
                                     {true, "at g loop 2", (double)W / 64 * H},
                                     {false, "at g loop 2 store 3", H}};
    for (const Case &c : cases) {
        auto build = [&]() {
            Halide::ImageParam in(Halide::Float(32), 2, "in");
            in.set_estimates({{0, W + 1}, {0, H}});
            Halide::Var x("x"), y("y");
            Halide::Func f("f"), g("g");
            f(x, y) = in(x, y) * 2.0f;
            if (c.halved)
                g(x, y) = f(x / 2, y) + f(x / 2 + 1, y);
            else
                g(x, y) = f(x, y) + f(x + 1, y);
            g.set_estimates({{0, W}, {0, H}});
            return std::make_pair(g, in);
        };
        const std::string lines = "//   g: root | tiles 64 1 vec 0x16\n//   f: " + c.f_decision +
                                  " | tiles 64 1 vec 0x16\n//   in_im: inline\n";
        const std::string what = std::string(c.halved ? "x/2, " : "") + c.f_decision;
        const ReplayedStages replayed = replay_with_analytic_cost(build().first, t, lines);
        ASSERT_EQ(replayed.features.size(), 2u);
        const harl::StageFeatures &ff = replayed.features.at(1); // consumers first: g, then f
        EXPECT_EQ(ff[harl::F_heap_allocations_total], c.heap) << what;
        EXPECT_EQ(replayed.features.at(0)[harl::F_heap_allocations_total], 0) << "g is the output";

        // Halide's lowering: a constant-size allocation of f is a product of numbers.
        auto [g, in] = build();
        Halide::Pipeline p(g);
        const std::string source =
            harl::apply_stored_schedule(p, t, kParams, "// Decisions:\n" + lines + "\n");
        const std::string stmt = ::testing::TempDir() + "harl_heap_" + std::to_string(getpid()) + ".stmt";
        p.compile_to_lowered_stmt(stmt, {in}, Halide::StmtOutputFormat::Text, t);
        std::ifstream sf(stmt);
        const std::string text((std::istreambuf_iterator<char>(sf)), {});
        std::remove(stmt.c_str());
        std::smatch m;
        ASSERT_TRUE(std::regex_search(text, m, std::regex("allocate f[$0-9]*\\[float32 \\* ([^\\]]*)\\]")))
            << what;
        const bool constant = std::regex_match(m[1].str(), std::regex("[0-9 *]+"));
        if (source.find(".bound_storage(") == std::string::npos) {
            EXPECT_EQ(constant, c.heap == 0) << what << ": Halide allocates f[" << m[1] << "]";
        } else {
            // StorageBounds proved a constant bound for a region the Featurizer counts as sized at
            // run time (through x/2): the buffer is on the stack, and the count is conservative.
            EXPECT_TRUE(constant) << what << ": Halide allocates f[" << m[1] << "]";
        }

        // The analytic model charges them.
        std::vector<harl::StageFeatures> none = replayed.features;
        none[1][harl::F_heap_allocations_total] = 0;
        std::vector<double> seconds;
        harl::make_analytic_cost_model(harl::make_machine_info(t, kParams))->predict(none, &seconds);
        if (c.heap > 0) {
            EXPECT_GT(replayed.seconds[1], seconds[1] + 0.5 * c.heap * 2e-8 / 2) << what;
        }
        std::cout << what << ": heap allocations " << c.heap << ", Halide allocates f[" << m[1] << "]\n";
    }
}

// An update computed per tile of its consumer keeps its block of accumulators in registers
// only when Halide knows the block's extents when it compiles: a tile read through a division
// (or a clamp) is sized at run time, so Halide guards every unrolled point and the vector with
// an if (GuardWithIf, the tail strategy of an update's pure vars), and the accumulators live
// in memory behind those branches. (rp2-s110068, Zen 4: a 1x1 convolution computed per tile of
// a blur that read it through a clamp, 6x5 points unrolled, ran 0.95 ms per run where the
// analytic model charged 0.10 ms with the block in registers.)
TEST(Featurizer, UnrolledBlocksOfRunTimeExtentKeepAccumulatorsInMemory) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma");
    const int C = 16, W = 256, H = 32, R = 32;
    for (const bool halved : {false, true}) {
        auto build = [&]() {
            Halide::ImageParam in(Halide::Float(32), 3, "in"), w(Halide::Float(32), 2, "w");
            in.set_estimates({{0, R}, {0, W}, {0, H}});
            w.set_estimates({{0, C}, {0, R}});
            Halide::Var c("c"), x("x"), y("y");
            Halide::RDom r(0, R);
            Halide::Func conv("conv"), g("g");
            conv(c, x, y) = 0.0f;
            conv(c, x, y) += w(c, r) * in(r, x, y);
            if (halved)
                g(c, x, y) = conv(c, x / 2, y) * 2.0f;
            else
                g(c, x, y) = conv(c, x, y) * 2.0f;
            g.set_estimates({{0, C}, {0, halved ? 2 * W : W}, {0, H}});
            return std::make_tuple(g, in, w);
        };
        // g: 16 channels (one vector) by 8 columns per tile, loops [c_v, x_i, x_o, y]; conv per
        // tile, its update's block all of the tile's columns, unrolled around the vector.
        const int cols = halved ? 5 : 8; // x / 2 over 8 columns: 4 or 5 of conv
        const std::string lines = "//   g: root | tiles 16 8 1 vec 0x16\n//   conv: at g loop 2 | tiles 16 " +
                                  std::to_string(cols) + " 1 vec 0x16 | tiles 1 16 " + std::to_string(cols) +
                                  " 1 vec 1x16 unroll\n//   w_im: inline\n//   in_im: inline\n";
        const std::string what = halved ? "conv(c, x / 2, y)" : "conv(c, x, y)";
        const ReplayedStages replayed = replay_with_analytic_cost(std::get<0>(build()), t, lines);
        ASSERT_EQ(replayed.features.size(), 3u) << what;
        const harl::StageFeatures &update = replayed.features.at(2);
        ASSERT_GT(update[harl::F_is_update], 0) << what;
        EXPECT_EQ(update[harl::F_accumulator_registers], cols) << what;
        // The block is the whole tile either way: only the tile's extent differs.
        EXPECT_EQ(update[harl::F_points_per_realization], 16 * cols * R) << what;
        EXPECT_EQ(update[harl::F_accumulator_memory_ops], halved ? 2.0f : 0.0f) << what;

        // Halide's lowering: the update's unrolled points are guarded only where the tile's
        // extent is not a constant.
        auto [g, in, w] = build();
        Halide::Pipeline p(g);
        const std::string source =
            harl::apply_stored_schedule(p, t, kParams, "// Decisions:\n" + lines + "\n");
        const std::string stmt = ::testing::TempDir() + "harl_guard_" + std::to_string(getpid()) + ".stmt";
        p.compile_to_lowered_stmt(stmt, {in, w}, Halide::StmtOutputFormat::Text, t);
        std::ifstream sf(stmt);
        const std::string text((std::istreambuf_iterator<char>(sf)), {});
        std::remove(stmt.c_str());
        std::smatch m;
        ASSERT_TRUE(std::regex_search(text, m, std::regex("for \\(conv[$0-9]*\\.s1\\.r")))
            << what << ": no reduction loop in\n"
            << text;
        const size_t from = (size_t)m.position(0), to = text.find("consume conv", from);
        const std::string body = text.substr(from, to - from);
        EXPECT_EQ(body.find("if (") != std::string::npos, halved) << what << ":\n" << body;
    }
}

// A block of accumulators larger than the register file spills on every step, but only where it
// would otherwise stay in registers: accumulators that live in memory anyway (an update that is
// not one unrolled constant tile) pay for their loads and stores once, not again as spills.
// (dl2-s111096, Zen 4: a 1x1 convolution at root with 4x16 scalar accumulators per block ran
// 0.27 ms; charged both ways, the analytic model put it at 0.89 ms.)
// A multiply-add over a million points in 8-lane vectors, a broadcast operand, 64 parallel tasks.
static harl::StageFeatures vector_multiply_add_stage() {
    harl::StageFeatures f{};
    f[harl::F_points_total] = 1 << 20;
    f[harl::F_vector_width] = 8;
    f[harl::F_vector_utilization] = 1;
    f[harl::F_ops_per_point] = 2;
    f[harl::F_fused_multiply_adds] = 1;
    f[harl::F_broadcast_loads] = 1;
    f[harl::F_parallel_tasks] = 64;
    f[harl::F_parallel_efficiency] = 1;
    return f;
}

TEST(AnalyticModel, AccumulatorsInMemoryDoNotSpillAgain) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma");
    auto model = harl::make_analytic_cost_model(harl::make_machine_info(t, kParams));
    auto seconds = [&](double accumulators, double memory_ops) {
        harl::StageFeatures f = vector_multiply_add_stage();
        f[harl::F_is_update] = 1;
        f[harl::F_dense_vector_loads] = 1;
        f[harl::F_accumulator_registers] = (float)accumulators;
        f[harl::F_accumulator_memory_ops] = (float)memory_ops;
        std::vector<double> s;
        model->predict({f}, &s);
        return s.at(0);
    };
    EXPECT_GT(seconds(64, 0), 1.5 * seconds(8, 0)) << "a register block beyond the register file spills";
    EXPECT_EQ(seconds(64, 2), seconds(8, 2)) << "accumulators in memory do not spill";
    EXPECT_GT(seconds(8, 2), seconds(8, 0)) << "accumulators in memory cost their loads and stores";
}

// The calibrated constants (AnalyticConstants) read back from the text harl-train
// --analytic-constants takes, refuse what is not one of them, and each moves its own term.
TEST(AnalyticModel, CalibratedConstantsParseAndMoveTheirTerms) {
    harl::AnalyticConstants c;
    std::string error;
    ASSERT_TRUE(harl::parse_analytic_constants("llc_bandwidth=1e11,spill_factor=2", &c, &error)) << error;
    EXPECT_EQ(c.llc_bandwidth, 1e11);
    EXPECT_EQ(c.spill_factor, 2);
    EXPECT_EQ(c.fused_share, harl::AnalyticConstants{}.fused_share) << "unnamed constants keep their values";
    harl::AnalyticConstants back;
    ASSERT_TRUE(harl::parse_analytic_constants(harl::format_analytic_constants(c), &back, &error)) << error;
    EXPECT_EQ(harl::format_analytic_constants(back), harl::format_analytic_constants(c));
    for (const char *bad : {"l2_bandwidth=1", "spill_factor", "spill_factor=two", "spill_factor=-1", "=3"}) {
        harl::AnalyticConstants unchanged;
        EXPECT_FALSE(harl::parse_analytic_constants(bad, &unchanged, &error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
    }
    EXPECT_NE(error.find("spill_factor"), std::string::npos) << "the error names the constants: " << error;

    harl::MachineInfo m = harl::make_machine_info(harl::target_named("x86-64-linux-avx2-fma"), kParams);
    harl::StageFeatures f = vector_multiply_add_stage();
    f[harl::F_line_bytes_from_llc_total] = 64 << 20;
    const harl::AnalyticTerms base = harl::analytic_terms(m, f);
    harl::MachineInfo more = m;
    more.analytic.broadcast_load_slots *= 2;
    EXPECT_GT(harl::analytic_terms(more, f).compute, base.compute) << "broadcasts cost more";
    EXPECT_EQ(harl::analytic_terms(more, f).memory, base.memory);
    more = m;
    more.analytic.fused_share = 1;
    EXPECT_LT(harl::analytic_terms(more, f).compute, base.compute) << "every multiply-add fuses";
    more = m;
    more.analytic.llc_bandwidth *= 2;
    EXPECT_NEAR(harl::analytic_terms(more, f).memory, base.memory / 2, 1e-9 * base.memory)
        << "LLC traffic at twice the bandwidth";
    EXPECT_EQ(harl::analytic_terms(more, f).compute, base.compute);
}

// A stage's output that fits in half the LLC on its own, but whose values come from a large
// input streamed through a producer computed per tile: while the stage runs, the input passes
// through the cache too, so the output's stores end up in DRAM whatever the tile size. Until
// the seventeenth session only the stage's own buffer, its loads and the loaded producers'
// buffers counted, so an output of 16.4 MB beside a 256 KB tile buffer (64 rows) fitted half of
// a 32 MB LLC and cost no DRAM traffic, while with a 1 MB tile buffer (256 rows) it cost 33 MB:
// a knife edge that made the learned model rank a softmax's two schedules by the tile's size.
TEST(Featurizer, InputsStreamedByProducersComputedInsideShareTheCache) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma");
    const int K = 1000, R = 4096;
    auto dram_bytes = [&](int rows) {
        Halide::ImageParam in(Halide::Float(32), 2, "in");
        in.set_estimates({{0, K}, {0, R}});
        Halide::Var x("x"), y("y");
        Halide::Func e("e"), out("out");
        e(x, y) = Halide::exp(in(x, y));
        out(x, y) = e(x, y) * 0.5f;
        out.set_estimates({{0, K}, {0, R}});
        // out's loops: x_v, y_i, x_o, y_o; e is computed per y_o (rows x K floats).
        const std::string r = std::to_string(rows);
        const ReplayedStages replayed = replay_with_analytic_cost(
            out, t,
            "//   out: root | tiles 16 " + r +
                " vec 0x16 par 1\n//   e: at out loop 3 | tiles 16 1 vec 0x16\n//   in_im: inline\n");
        EXPECT_EQ(replayed.features.size(), 2u);
        return (double)replayed.features.at(0)[harl::F_line_bytes_from_dram_total];
    };
    const double out_bytes = 4.0 * K * R;
    ASSERT_LT(out_bytes + 4.0 * K * 64, 0.5 * (32 << 20)) << "the case needs an output that fits on its own";
    const double small_tiles = dram_bytes(64), large_tiles = dram_bytes(256);
    EXPECT_GE(small_tiles, out_bytes);
    EXPECT_GE(large_tiles, out_bytes);
    EXPECT_LT(std::fabs(small_tiles - large_tiles), 0.1 * out_bytes) << small_tiles << " vs " << large_tiles;
}

// A lookup: the index is computed from loaded data (a histogram's bin, a table's entry), so its
// bounds are only the range the data can take (here 0-255 whatever the tile), and a vectorised
// consumer loads one table element per lane. Until the fifteenth session the constant bounds
// made it a broadcast: the unseen random pipeline 9930018, whose learned-model pick inlined a
// histogram lookup into the 9 taps of a blur, ran 4.5 ms, 2.6x the analytic model's pick that
// computes the lookups per tile, and was predicted faster. An index from data that is the same
// in every lane (it moves only with the rows) is still a broadcast.
TEST(Featurizer, LookupsByLoadedDataAreGathers) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma");
    auto load_features = [&](bool per_lane) {
        Halide::ImageParam in(Halide::UInt(8), 2, "in");
        in.set_estimates({{0, 1024}, {0, 256}});
        Halide::Var x("x"), y("y"), i("i");
        Halide::Func lut("lut"), out("out");
        lut(i) = Halide::sqrt(Halide::cast<float>(i));
        const Halide::Expr index = Halide::cast<int>(per_lane ? in(x, y) : in(0, y));
        out(x, y) = lut(index) * 2.0f;
        out.set_estimates({{0, 1024}, {0, 256}});
        const ReplayedStages replayed =
            replay_with_analytic_cost(out, t,
                                      "//   out: root | tiles 16 1 vec 0x16 par 1\n//   lut: root | tiles 16 "
                                      "vec 0x16\n//   in_im: inline\n");
        EXPECT_EQ(replayed.features.size(), 2u);
        return std::make_pair(replayed.features.at(0), replayed.seconds.at(0));
    };
    const auto gathered = load_features(true), same_in_every_lane = load_features(false);
    EXPECT_EQ(gathered.first[harl::F_gather_loads], 1);
    EXPECT_EQ(gathered.first[harl::F_irregular_loads], 1);
    EXPECT_EQ(gathered.first[harl::F_broadcast_loads], 0);
    EXPECT_EQ(same_in_every_lane.first[harl::F_gather_loads], 0);
    EXPECT_GE(same_in_every_lane.first[harl::F_broadcast_loads], 1);
    // The analytic model charges the gathers.
    EXPECT_GT(gathered.second, 2 * same_in_every_lane.second);
}

// Parallel tasks that each own a column strip of whole lines still share lines when the rows
// are not a whole number of lines apart: in every other row of 120 floats (480 bytes) a strip's
// 16-float vectors straddle two lines, each also written by a neighbouring task. (Unseen dense
// block 9950000: an update with accumulator rows 2792 floats apart, one task per 16-float strip
// of 32 rows, ran 62-70 ms against 6.2 ms in tasks of whole rows; the strips' runs of 64 bytes
// were taken to share no line.)
TEST(Featurizer, ColumnStripsOfRowsNotWholeLinesShareLines) {
    const Halide::Target t = harl::target_named("x86-64-linux-avx2-fma-avx512-avx512_skylake");
    auto shared_stores = [&](int width) {
        Halide::ImageParam w(Halide::Float(32), 2, "w"), in(Halide::Float(32), 2, "in");
        w.set_estimates({{0, width}, {0, 64}});
        in.set_estimates({{0, 64}, {0, 64}});
        Halide::Var x("x"), y("y");
        Halide::RDom r(0, 64);
        Halide::Func out("out");
        out(x, y) = 0.0f;
        out(x, y) += w(x, r) * in(r, y);
        out.set_estimates({{0, width}, {0, 64}});
        const ReplayedStages replayed =
            replay_with_analytic_cost(out, t,
                                      "//   out: root | tiles 16 1 vec 0x16 par 1 | tiles 1 16 32 vec 1x16 "
                                      "par 2\n//   w_im: inline\n//   "
                                      "in_im: inline\n");
        EXPECT_EQ(replayed.features.size(), 2u);
        return std::make_pair((double)replayed.features.at(1)[harl::F_shared_line_stores_total],
                              replayed.seconds.at(1));
    };
    const auto whole_lines = shared_stores(128), half_lines = shared_stores(120);
    EXPECT_EQ(whole_lines.first, 0);
    EXPECT_GT(half_lines.first, 0);
    // The analytic model charges them: more than the extra 6% of points.
    EXPECT_GT(half_lines.second, 1.5 * whole_lines.second);
}
