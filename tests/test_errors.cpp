// Bad input gets a clear HarlError naming what to fix, never a crash.
#include "Autoscheduler.h"
#include "Errors.h"
#include "HostTarget.h"
#include "Options.h"

#include <cstdlib>
#include <gtest/gtest.h>

using namespace Halide;

namespace {

const MachineParams kParams(2, 32 << 20, 40);

std::string error_of(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const harl::HarlError &e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST(Errors, OutputWithoutEstimatesNamesFuncAndDimension) {
    ImageParam in(Float(32), 2, "in");
    in.set_estimates({{0, 64}, {0, 64}});
    Var x("x"), y("y");
    Func blurry("blurry");
    blurry(x, y) = in(x, y) + in(x + 1, y);
    blurry.set_estimate(x, 0, 63); // y has none
    std::string msg = error_of(
        [&] { harl::autoschedule(Pipeline(blurry), harl::host_target(), kParams, harl::HarlOptions()); });
    EXPECT_NE(msg.find("'blurry'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("dimension 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'y'"), std::string::npos) << msg;
}

TEST(Errors, InputWithoutEstimatesNamesInputAndDimension) {
    ImageParam img(Float(32), 2, "img");
    img.dim(0).set_estimate(0, 64); // dimension 1 has none
    Var x("x"), y("y");
    Func f("f");
    f(x, y) = img(x, y) * 2.0f;
    f.set_estimates({{0, 64}, {0, 64}});
    std::string msg =
        error_of([&] { harl::autoschedule(Pipeline(f), harl::host_target(), kParams, harl::HarlOptions()); });
    EXPECT_NE(msg.find("'img'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("dimension 1"), std::string::npos) << msg;
}

TEST(Errors, ParamWithoutEstimateIsNamed) {
    ImageParam in(Float(32), 1, "in");
    in.set_estimates({{0, 100}});
    Param<int> n("count");
    Var x("x");
    Func f("f");
    RDom r(0, n);
    f(x) = 0.0f;
    f(x) += in(r)*x;
    f.set_estimates({{0, 10}});
    std::string msg =
        error_of([&] { harl::autoschedule(Pipeline(f), harl::host_target(), kParams, harl::HarlOptions()); });
    EXPECT_NE(msg.find("'count'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("set_estimate"), std::string::npos) << msg;
}

TEST(Errors, ExternStageIsUnsupportedAndNamed) {
    ImageParam in(Float(32), 1, "in");
    in.set_estimates({{0, 100}});
    Func ext("my_extern");
    ext.define_extern("some_c_function", {in}, Float(32), 1);
    Var x("x");
    Func f("f");
    f(x) = ext(x) + 1.0f;
    f.set_estimates({{0, 100}});
    std::string msg =
        error_of([&] { harl::autoschedule(Pipeline(f), harl::host_target(), kParams, harl::HarlOptions()); });
    EXPECT_NE(msg.find("'my_extern'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("extern"), std::string::npos) << msg;
}

TEST(Errors, UnboundedDataDependentAccessIsNamed) {
    ImageParam idx(Int(32), 1, "idx");
    idx.set_estimates({{0, 100}});
    Var x("x");
    Func table("table"), f("f");
    table(x) = x * 2;
    f(x) = table(idx(x)); // an int32 index: unbounded
    f.set_estimates({{0, 100}});
    std::string msg =
        error_of([&] { harl::autoschedule(Pipeline(f), harl::host_target(), kParams, harl::HarlOptions()); });
    EXPECT_NE(msg.find("'table'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("clamp"), std::string::npos) << msg;
}

TEST(Errors, LearnedModelOnGpuTargetIsRefusedClearly) {
    ImageParam in(Float(32), 1, "in");
    in.set_estimates({{0, 100}});
    Var x("x");
    Func f("f");
    f(x) = in(x)*2.0f;
    f.set_estimates({{0, 100}});
    Target cuda = harl::host_target().with_feature(Target::CUDA).with_feature(Target::CUDACapability80);
    harl::HarlOptions opts;
    opts.cost_model = "learned";
    std::string msg = error_of([&] { harl::autoschedule(Pipeline(f), cuda, kParams, opts); });
    EXPECT_NE(msg.find("GPU"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HARL_COST_MODEL"), std::string::npos) << msg;
}

TEST(Options, MalformedValueNamesTheVariable) {
    setenv("HARL_BEAM_SIZE", "lots", 1);
    std::string msg = error_of([] { harl::HarlOptions::from_environment(); });
    unsetenv("HARL_BEAM_SIZE");
    EXPECT_NE(msg.find("HARL_BEAM_SIZE=lots"), std::string::npos) << msg;
}

TEST(Options, UnknownVariablesAreReported) {
    setenv("HARL_BEAMSIZE", "4", 1);
    std::vector<std::string> unknown;
    harl::HarlOptions::from_environment(&unknown);
    unsetenv("HARL_BEAMSIZE");
    ASSERT_EQ(unknown.size(), 1u);
    EXPECT_EQ(unknown[0], "HARL_BEAMSIZE");
}

TEST(Options, ValuesAreRead) {
    setenv("HARL_BEAM_SIZE", "3", 1);
    setenv("HARL_SEED", "42", 1);
    setenv("HARL_TIME_BUDGET", "2.5", 1);
    harl::HarlOptions o = harl::HarlOptions::from_environment();
    unsetenv("HARL_BEAM_SIZE");
    unsetenv("HARL_SEED");
    unsetenv("HARL_TIME_BUDGET");
    EXPECT_EQ(o.beam_size, 3);
    EXPECT_EQ(o.seed, 42u);
    EXPECT_DOUBLE_EQ(o.time_budget_s, 2.5);
    EXPECT_NE(harl::options_help().find("HARL_TIME_BUDGET"), std::string::npos);
}
