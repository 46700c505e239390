// Fuzzing HARL with random pipelines (training/RandomPipeline.h): every seed must autoschedule,
// compile and match a reference. The reference computes every Func at root and nothing else:
// Halide's results do not depend on the schedule, and unlike the fully inlined default it does
// not recompute a histogram per pixel. HARL_FUZZ_SEEDS sets how many seeds (default 200), split
// over four shards that ctest runs in parallel.
#include "Autoscheduler.h"
#include "RandomPipeline.h"
#include "TestPipelines.h"

#include <cstdlib>
#include <gtest/gtest.h>

namespace {

constexpr int kShards = 4;

// strict_float: schedules change where LLVM fuses multiply-adds, and a quantising stage can
// amplify that last-bit difference into a visible one. Strict floats make results exact.
Halide::Target target() {
    return Halide::get_jit_target_from_environment().with_feature(Halide::Target::StrictFloat);
}

Halide::Buffer<> realize(harl::RandomPipeline &rp) {
    Halide::Buffer<> out(Halide::Float(32), rp.output_size);
    Halide::Pipeline(rp.output).realize(out, target());
    return out;
}

int num_seeds() {
    const char *s = std::getenv("HARL_FUZZ_SEEDS");
    return s ? std::max(1, std::atoi(s)) : 200;
}

class FuzzShard : public ::testing::TestWithParam<int> {};

} // namespace

TEST_P(FuzzShard, RandomPipelinesMatchReference) {
    int failures = 0;
    for (int seed = GetParam(); seed < num_seeds() && failures < 3; seed += kShards) {
        harl::RandomPipeline ref = harl::make_random_pipeline(seed, 2, 14);
        ref.output.compute_root();
        for (auto &kv : Halide::Internal::find_transitive_calls(ref.output.function())) {
            Halide::Func(kv.second).compute_root();
        }
        Halide::Buffer<> expected = realize(ref);

        harl::RandomPipeline rp = harl::make_random_pipeline(seed, 2, 14);
        std::string kinds;
        for (const auto &k : rp.stage_kinds)
            kinds += k + " ";
        harl::HarlOptions opts;
        opts.seed = seed;
        opts.time_budget_s = 2;
        try {
            harl::autoschedule(Halide::Pipeline(rp.output), target(), Halide::MachineParams(2, 32 << 20, 40),
                               opts);
            std::string diff = harl_test::compare_buffers(realize(rp), expected);
            EXPECT_EQ(diff, "") << "seed " << seed << ": " << kinds;
            failures += !diff.empty();
        } catch (const std::exception &e) {
            ADD_FAILURE() << "seed " << seed << " (" << kinds << "): " << e.what();
            failures++;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, FuzzShard, ::testing::Range(0, kShards));
