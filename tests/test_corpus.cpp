// Every corpus pipeline, autoscheduled by HARL, must compile (the schedule is legal), run, and
// match the same pipeline left unscheduled.
#include "Autoscheduler.h"
#include "HostTarget.h"
#include "TestPipelines.h"

#include <gtest/gtest.h>

using namespace harl_test;

class CorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusTest, MatchesUnscheduledReference) {
    const PipelineCase &pc = find_case(GetParam());
    Halide::Target target = harl::jit_target();
    BuiltPipeline ref = pc.build();
    std::vector<Halide::Buffer<>> expected = run_pipeline(ref, target);

    BuiltPipeline sched = pc.build();
    harl::HarlOptions opts;
    opts.time_budget_s = 5;
    harl::AutoscheduleOutput out = harl::autoschedule(Halide::Pipeline(sched.outputs), target,
                                                      Halide::MachineParams(2, 32 << 20, 40), opts);
    EXPECT_NE(out.schedule_source.find("pipeline.get_func("), std::string::npos);
    EXPECT_FALSE(out.featurization.empty());
    std::vector<Halide::Buffer<>> got = run_pipeline(sched, target);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); i++) {
        EXPECT_EQ(compare_buffers(got[i], expected[i]), "") << "output " << i << "\nschedule:\n"
                                                            << out.summary;
    }
}

std::vector<std::string> corpus_names() {
    std::vector<std::string> names;
    for (const auto &c : pipeline_corpus())
        names.push_back(c.name);
    return names;
}

INSTANTIATE_TEST_SUITE_P(Pipelines, CorpusTest, ::testing::ValuesIn(corpus_names()),
                         [](const ::testing::TestParamInfo<std::string> &i) { return i.param; });
