// GPU schedules: the target limits, the validity checks, validity-driven proposals, and every
// corpus pipeline scheduled for CUDA compiling (Halide accepts the schedule and generates PTX)
// with every kernel inside the launch limits. Outputs are checked on a device by the OpenCL
// test (GPU.AppsMatchReferenceUnderOpenCL) and PTX by tests/check_cuda_ptx.py.
#include "Autoscheduler.h"
#include "Errors.h"
#include "HostTarget.h"
#include "TargetModel.h"
#include "TestPipelines.h"
#include "gpu/GpuBeamSearch.h"
#include "gpu/GpuEmitter.h"
#include "gpu/GpuValidity.h"

#include <gtest/gtest.h>
#include <regex>

using namespace Halide;
using namespace harl_test;

namespace {

const MachineParams kParams(2, 32 << 20, 40);

Target cuda_target(int cap = 80) {
    Target t = harl::host_target().with_feature(Target::CUDA);
    return t.with_feature(cap == 86   ? Target::CUDACapability86
                          : cap == 75 ? Target::CUDACapability75
                                      : Target::CUDACapability80);
}

std::vector<Internal::Function> output_functions(const BuiltPipeline &b) {
    std::vector<Internal::Function> fs;
    for (const Func &f : b.outputs)
        fs.push_back(f.function());
    return fs;
}

// A 2-D blur with a producer, for the hand-built schedules below.
struct Blur {
    ImageParam in{Float(32), 2, "in"};
    Func bx{"bx"}, out{"out"};
    Var x{"x"}, y{"y"};
    Blur() {
        bx(x, y) = in(x, y) + in(x + 1, y) + in(x + 2, y);
        out(x, y) = bx(x, y) + bx(x, y + 1) + bx(x, y + 2);
        in.set_estimates({{0, 4098}, {0, 4098}});
        out.set_estimates({{0, 4096}, {0, 4096}});
    }
};

} // namespace

TEST(TargetModel, CudaLimitsPerCapability) {
    for (int cap : {61, 70, 75, 80, 86, 90}) {
        harl::CudaLimits c = harl::TargetModel::cuda(cap);
        EXPECT_EQ(c.max_threads_per_block, 1024);
        EXPECT_EQ(c.warp_size, 32);
        EXPECT_EQ(c.shared_bytes_per_block, 48 * 1024);
        EXPECT_EQ(c.registers_per_sm, 65536);
        EXPECT_GE(c.shared_bytes_per_sm, c.shared_bytes_per_block);
    }
    EXPECT_EQ(harl::TargetModel::cuda(75).max_threads_per_sm, 1024);
    EXPECT_EQ(harl::TargetModel::cuda(86).max_threads_per_sm, 1536);
    EXPECT_THROW(harl::TargetModel::cuda(52), harl::HarlError);
    harl::TargetModel tm = harl::TargetModel::from(cuda_target(86), kParams);
    EXPECT_EQ(tm.kind, harl::TargetModel::Cuda);
    EXPECT_EQ(tm.gpu.capability, 86);
    harl::TargetModel cpu = harl::TargetModel::from(harl::host_target(), kParams);
    EXPECT_FALSE(cpu.is_gpu());
    harl::TargetModel ocl =
        harl::TargetModel::from(harl::host_target().with_feature(Target::OpenCL), kParams);
    EXPECT_EQ(ocl.kind, harl::TargetModel::OtherGpu);
    EXPECT_EQ(ocl.gpu.max_threads_per_block, 256);
}

TEST(GpuValidity, FlagsEachLimit) {
    Blur b;
    harl::PipelineGraph g({b.out.function()}, cuda_target());
    harl::TargetModel tm = harl::TargetModel::from(cuda_target(), kParams);
    int out = -1, bx = -1;
    for (int i = 0; i < g.num_nodes(); i++) {
        if (g.node(i).name == "out") out = i;
        if (g.node(i).name == "bx") bx = i;
    }
    ASSERT_GE(out, 0);
    ASSERT_GE(bx, 0);
    auto kernel = [&](int64_t tx, int64_t ty, int64_t rx, int64_t ry) {
        auto c = std::make_shared<harl::GpuFuncChoice>();
        harl::GpuStageChoice s = harl::default_gpu_stage(
            g.node(out).stages[0], g.node(out).stages[0].loop_box(g.node(out).root), tm);
        s.threads_x = tx, s.threads_y = ty, s.per_thread_x = rx, s.per_thread_y = ry;
        c->stages = {s};
        return c;
    };
    harl::GpuSchedule s0(g, tm);
    ASSERT_EQ(s0.next_node(), out);
    EXPECT_EQ(harl::decision_violation(s0.with(out, kernel(32, 8, 1, 1)), out), "");
    EXPECT_NE(harl::decision_violation(s0.with(out, kernel(64, 32, 1, 1)), out).find("threads per block"),
              std::string::npos);
    EXPECT_NE(harl::decision_violation(s0.with(out, kernel(1, 1024 * 2, 1, 1)), out).find("threads"),
              std::string::npos);
    EXPECT_NE(harl::decision_violation(s0.with(out, kernel(32, 32, 16, 16)), out).find("registers"),
              std::string::npos);
    // A block of 32x32 points needs a 34x... strip of bx: fine. 1024 wide rows of 64 rows: too
    // much shared memory.
    harl::GpuSchedule s1 = s0.with(out, kernel(256, 4, 4, 16));
    auto shared = std::make_shared<harl::GpuFuncChoice>();
    shared->placement = harl::GpuPlacement::Shared;
    shared->at_node = out, shared->at_stage = 0;
    harl::GpuStageChoice st =
        harl::default_gpu_stage(g.node(bx).stages[0], g.node(bx).stages[0].loop_box(g.node(bx).root), tm);
    st.mode = harl::GpuStageChoice::Threads;
    st.threads_x = 256, st.threads_y = 4;
    shared->stages = {st};
    std::string v = harl::decision_violation(s1.with(bx, shared), bx);
    EXPECT_NE(v.find("shared memory"), std::string::npos) << v;
}

TEST(GpuSearch, ValidityDrivenProposalsWasteLess) {
    int64_t proposed[2] = {0, 0}, invalid[2] = {0, 0};
    for (const auto &pc : pipeline_corpus()) {
        for (int mode = 0; mode < 2; mode++) {
            BuiltPipeline b = pc.build();
            harl::PipelineGraph g(output_functions(b), cuda_target());
            harl::TargetModel tm = harl::TargetModel::from(cuda_target(), kParams);
            harl::HarlOptions opts;
            opts.gpu_init = mode ? "naive" : "valid";
            auto model = harl::make_gpu_analytic_cost_model(harl::make_machine_info(cuda_target(), kParams));
            harl::GpuSearchResult r = harl::gpu_beam_search(g, tm, opts, *model);
            EXPECT_EQ(harl::schedule_violations(r.best), "") << pc.name;
            proposed[mode] += r.stats.proposed;
            invalid[mode] += r.stats.invalid;
        }
    }
    double valid_frac = (double)invalid[0] / proposed[0], naive_frac = (double)invalid[1] / proposed[1];
    std::cout << "invalid proposals: validity-driven " << invalid[0] << "/" << proposed[0] << ", naive "
              << invalid[1] << "/" << proposed[1] << "\n";
    EXPECT_LT(2 * valid_frac, naive_frac);
}

TEST(GpuSearch, SameSeedSameSchedule) {
    // Func names get a fresh unique suffix per build ("h$2", "h$3"): compare without them.
    auto strip = [](const std::string &s) {
        return std::regex_replace(s, std::regex("r[0-9]+[$_]|[$_][0-9]+"), "");
    };
    for (const auto &pc : pipeline_corpus()) {
        std::string first;
        for (int i = 0; i < 2; i++) {
            BuiltPipeline b = pc.build();
            harl::AutoscheduleOutput o =
                harl::autoschedule(Pipeline(b.outputs), cuda_target(), kParams, harl::HarlOptions());
            if (i == 0)
                first = strip(o.schedule_source);
            else
                EXPECT_EQ(first, strip(o.schedule_source)) << pc.name;
        }
    }
}

class GpuCorpusTest : public ::testing::TestWithParam<std::string> {};

// HARL's CUDA schedule of every corpus pipeline is accepted by Halide and lowers to CUDA code;
// the kernels it reports stay within the limits; the featurization is the GPU layout.
TEST_P(GpuCorpusTest, CompilesForCuda) {
    const PipelineCase &pc = find_case(GetParam());
    BuiltPipeline b = pc.build();
    Pipeline p(b.outputs);
    harl::HarlOptions opts;
    opts.time_budget_s = 5;
    harl::AutoscheduleOutput out = harl::autoschedule(p, cuda_target(), kParams, opts);
    uint32_t layout = 0;
    harl::decode_featurization(out.featurization, &layout);
    EXPECT_EQ(layout, harl::kGpuFeatureLayoutVersion);
    Module m = p.compile_to_module(p.infer_arguments(), "gpu_" + pc.name, cuda_target());
    bool has_gpu_code = false;
    for (const Buffer<> &buf : m.buffers())
        has_gpu_code |= buf.name().find("gpu_source_kernels") != std::string::npos;
    // Pipelines whose every stage stays on the host (scans, scalars) have no kernels.
    if (out.summary.find("kernel") != std::string::npos) {
        EXPECT_TRUE(has_gpu_code) << "no CUDA kernels in the module\n" << out.summary;
    }
}

std::vector<std::string> corpus_names() {
    std::vector<std::string> names;
    for (const auto &c : pipeline_corpus())
        names.push_back(c.name);
    return names;
}

INSTANTIATE_TEST_SUITE_P(Pipelines, GpuCorpusTest, ::testing::ValuesIn(corpus_names()),
                         [](const ::testing::TestParamInfo<std::string> &i) { return i.param; });
