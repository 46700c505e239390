// Every corpus pipeline, autoscheduled by HARL, must compile (the schedule is legal) without
// Halide's warnings about unscheduled updates, run, and match the same pipeline left
// unscheduled.
#include "Autoscheduler.h"
#include "HostTarget.h"
#include "TestPipelines.h"

#include <gtest/gtest.h>

using namespace harl_test;

class CorpusTest : public ::testing::TestWithParam<std::string> {};

// Records Halide's compile-time warnings while it lives; errors still throw, as with Halide's
// default reporter.
class WarningLog : public Halide::CompileTimeErrorReporter {
  public:
    WarningLog() { Halide::set_custom_compile_time_error_reporter(this); }
    ~WarningLog() override { Halide::set_custom_compile_time_error_reporter(nullptr); }
    WarningLog(const WarningLog &) = delete;
    WarningLog &operator=(const WarningLog &) = delete;
    void warning(const char *msg) override { warnings += msg; }
    void error(const char *msg) override { throw Halide::CompileError(msg); }
    std::string warnings;
};

TEST_P(CorpusTest, MatchesUnscheduledReference) {
    const PipelineCase &pc = find_case(GetParam());
    Halide::Target target = harl::jit_target();
    BuiltPipeline ref = pc.build();
    std::vector<Halide::Buffer<>> expected = run_pipeline(ref, target);

    BuiltPipeline sched = pc.build();
    // A HARL schedule compiles without Halide's warnings about updates it left unscheduled
    // (histograms' scatters, scans).
    WarningLog log;
    harl::HarlOptions opts;
    opts.time_budget_s = 5;
    harl::AutoscheduleOutput out = harl::autoschedule(Halide::Pipeline(sched.outputs), target,
                                                      Halide::MachineParams(2, 32 << 20, 40), opts);
    EXPECT_NE(out.schedule_source.find("pipeline.get_func("), std::string::npos);
    EXPECT_FALSE(out.featurization.empty());
    std::vector<Halide::Buffer<>> got = run_pipeline(sched, target);
    EXPECT_EQ(log.warnings.find("not been scheduled"), std::string::npos) << log.warnings << "\nschedule:\n"
                                                                          << out.summary;
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
