// StorageBounds (autoscheduler/StorageBounds.h): a Func computed inside a consumer's guarded tile
// loop gets a constant-sized buffer, only with bounds Halide's simplifier proves, and the
// pipeline still computes what the unscheduled one does.
#include "Autoscheduler.h"
#include "HostTarget.h"
#include "PipelineGraph.h"
#include "ScheduleEmitter.h"
#include "ScheduleReplay.h"
#include "StorageBounds.h"
#include "TestPipelines.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace {

const Halide::MachineParams kParams(2, 32 << 20, 40);
constexpr int kWidth = 4096; // not a multiple of the 40-point tiles below: the last one is clamped

struct Chain {
    Halide::ImageParam in{Halide::Float(32), 1, "in"};
    Halide::Func f{"f"}, h{"h"}, out{"out"};
    Chain() {
        Halide::Var x("x");
        in.set_estimates({{0, kWidth + 1}});
        f(x) = in(x)*2.0f;
        h(x) = f(x) + f(x + 1);
        out(x) = h(x) * 3.0f;
        out.set_estimates({{0, kWidth}});
    }
};

Halide::Buffer<float> input() {
    Halide::Buffer<float> b(kWidth + 1);
    for (int i = 0; i <= kWidth; i++)
        b(i) = (float)(i % 97) - 40.0f;
    return b;
}

// f computed per 40-point tile of h (loop 2: the tile loop), h at root, out at root. With
// `parallel`, h's tile loop is parallel: Halide lowers its body into a closure, a function of its
// own that loads the tile loop's bounds from a struct its caller fills.
std::string chain_decisions(bool parallel = false) {
    const std::string par = parallel ? " par 1" : "";
    return "// Decisions:\n"
           "//   out: root | tiles 64 vec 0x16" +
           par +
           "\n"
           "//   h: root | tiles 40 vec 0x8" +
           par +
           "\n"
           "//   f: at h loop 2 | tiles 48 vec 0x8\n"
           "//   in_im: inline\n\n";
}

int node_named(const harl::PipelineGraph &g, const std::string &name) {
    for (int i = 0; i < g.num_nodes(); i++)
        if (g.node(i).name == name) return i;
    return -1;
}

std::string lowered(Halide::Pipeline p, const Halide::Target &t) {
    char path[] = "/tmp/harl-test-stmt-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    close(fd);
    p.compile_to_lowered_stmt(path, p.infer_arguments(), Halide::Text, t);
    std::stringstream s;
    s << std::ifstream(path).rdbuf();
    std::remove(path);
    return s.str();
}

// The extents of every allocation of `func` in a lowered statement.
std::vector<std::string> allocations(const std::string &stmt, const std::string &func) {
    std::vector<std::string> out;
    const std::string quoted = std::regex_replace(func, std::regex("[$.]"), "\\$&"); // f$1
    std::regex re("allocate " + quoted + "\\[float32 \\* ([^\\]]*)\\]");
    for (std::sregex_iterator it(stmt.begin(), stmt.end(), re), e; it != e; ++it)
        out.push_back((*it)[1]);
    return out;
}

// Whether an allocation of `func` is in a parallel loop's closure (a function of the lowered
// statement other than the pipeline's own).
bool allocated_in_closure(const std::string &stmt, const std::string &func) {
    std::regex header("(external|external_plus_metadata) func (\\S+) ");
    const std::string alloc = "allocate " + func + "[";
    size_t start = 0;
    std::string name;
    for (std::sregex_iterator it(stmt.begin(), stmt.end(), header), e;; ++it) {
        const size_t end = it == e ? stmt.size() : (size_t)it->position();
        if (name.find("_par_for_") != std::string::npos &&
            stmt.substr(start, end - start).find(alloc) != std::string::npos)
            return true;
        if (it == e) return false;
        start = end;
        name = (*it)[2];
    }
}

// The chain, analysed, with `decisions` replayed (not yet applied).
struct Scheduled {
    explicit Scheduled(bool parallel = false) : s(harl::replay_decisions(*g, 2, chain_decisions(parallel))) {}
    Halide::Target t = harl::host_target();
    Chain c;
    Halide::Pipeline p{c.out};
    std::string rfactor;
    std::unique_ptr<harl::PipelineGraph> g = harl::analyse_pipeline(p, t, kParams, &rfactor);
    harl::ScheduleState s;
    std::vector<harl::Directive> ds = harl::make_directives(s);
};

} // namespace

class StorageBoundsFor : public ::testing::TestWithParam<bool> {}; // parallel tiles

TEST_P(StorageBoundsFor, GuardedTilesGetAConstantBufferAndTheSameOutput) {
    const Halide::Target t = harl::host_target();
    Halide::Buffer<float> in = input();
    Chain ref;
    ref.in.set(in);
    Halide::Buffer<float> expected = Halide::Pipeline(ref.out).realize({kWidth}, t);

    Scheduled x(GetParam());
    x.c.in.set(in);
    const int f_node = node_named(*x.g, x.c.f.name());
    ASSERT_GE(f_node, 0);
    // The Featurizer assumes the 41 points one tile of h reads.
    EXPECT_EQ(harl::storage_hints(x.s).at(f_node), std::vector<int64_t>{41});

    harl::apply_directives_and_storage_bounds(*x.g, x.p, x.t, x.s, &x.ds);
    int bounds = 0;
    int64_t bound = 0;
    for (const harl::Directive &d : x.ds) {
        if (d.op != harl::Directive::BoundStorage) continue;
        bounds++;
        bound = d.factor;
        EXPECT_EQ(d.node, f_node);
        // The 41 points one tile of h reads, as the Featurizer assumes: Halide's extent is a max
        // of mins over the tile's vectors that only bounds to a constant with the tile's base
        // cancelled inside each min (MinMaxDistributor).
        EXPECT_EQ(d.factor, 41);
    }
    EXPECT_EQ(bounds, 1);
    const std::string stmt = lowered(x.p, x.t);
    const std::vector<std::string> sizes = allocations(stmt, x.c.f.name());
    ASSERT_FALSE(sizes.empty()) << stmt;
    for (const std::string &size : sizes)
        EXPECT_EQ(size, std::to_string(bound)) << "f's buffer in " << stmt;
    if (GetParam()) {
        EXPECT_TRUE(allocated_in_closure(stmt, x.c.f.name()))
            << "f is no longer computed in a closure: " << stmt;
    }
    EXPECT_NE(harl::emit_schedule_source(*x.g, x.ds, "").find(".bound_storage("), std::string::npos);

    Halide::Buffer<float> got = x.p.realize({kWidth}, x.t);
    EXPECT_EQ(harl_test::compare_buffers(got, expected), "");
}

// Serial tiles, and parallel ones: there the bounds of f's extent come from lets of the function
// that calls the closure, which the proofs see through the closure's struct.
INSTANTIATE_TEST_SUITE_P(Tiles, StorageBoundsFor, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool> &i) {
                             return std::string(i.param ? "Parallel" : "Serial");
                         });

TEST(StorageBounds, WithoutTheFixHalideAllocatesOnTheHeap) {
    // What the pass is for: the same schedule without it sizes f's buffer at run time.
    Scheduled x;
    harl::apply_directives(*x.g, x.ds);
    const std::vector<std::string> sizes = allocations(lowered(x.p, x.t), x.c.f.name());
    ASSERT_FALSE(sizes.empty());
    bool varying = false;
    for (const std::string &size : sizes)
        varying |= std::regex_search(size, std::regex("[A-Za-z_]"));
    EXPECT_TRUE(varying) << "Halide 14 sized f per tile at run time; the test no longer shows the problem";
}

// Channels innermost, their count known only at run time: h's 16-channel tiles end in a tail
// whose width (channels % 16) Halide works out once, outside h's parallel loop, and passes to the
// loop's closure. f, computed per tile of h, has a buffer of that width in the tail; only the
// caller's value bounds it.
struct ChannelTiles {
    Halide::ImageParam in{Halide::Float(32), 3, "in"};
    Halide::Func f{"f"}, h{"h"}, out{"out"};
    ChannelTiles() {
        Halide::Var c("c"), x("x"), y("y");
        in.set_estimates({{0, 64}, {0, 33}, {0, 32}});
        f(c, x, y) = in(c, x, y) * 2.0f;
        h(c, x, y) = f(c, x, y) + f(c, x + 1, y);
        out(c, x, y) = h(c, x, y) * 3.0f;
        out.set_estimates({{0, 64}, {0, 32}, {0, 32}});
    }
};

TEST(StorageBounds, ChannelTailsInParallelLoopsAreBoundedByTheCallersValues) {
    const Halide::Target t = harl::host_target();
    constexpr int kChannels = 40; // two tiles of 16 and a tail of 8
    Halide::Buffer<float> in(kChannels, 33, 32);
    in.for_each_element(
        [&](int c, int x, int y) { in(c, x, y) = (float)((c * 7 + x * 3 + y) % 31) - 15.0f; });
    ChannelTiles ref;
    ref.in.set(in);
    Halide::Buffer<float> expected = Halide::Pipeline(ref.out).realize({kChannels, 32, 32}, t);

    ChannelTiles c;
    c.in.set(in);
    Halide::Pipeline p(c.out);
    std::string rfactor;
    auto g = harl::analyse_pipeline(p, t, kParams, &rfactor);
    const harl::ScheduleState s = harl::replay_decisions(*g, 2,
                                                         "// Decisions:\n"
                                                         "//   out: root | tiles 16 2 2 vec 0x16 par 1\n"
                                                         "//   h: root | tiles 16 2 2 vec 0x16 par 1\n"
                                                         "//   f: at h loop 3 | tiles 16 3 2 vec 0x16\n"
                                                         "//   in_im: inline\n\n");
    std::vector<harl::Directive> ds = harl::make_directives(s);
    harl::apply_directives_and_storage_bounds(*g, p, t, s, &ds);
    int bounds = 0;
    for (const harl::Directive &d : ds)
        bounds += d.op == harl::Directive::BoundStorage && d.node == node_named(*g, c.f.name());
    EXPECT_EQ(bounds, 3) << harl::emit_schedule_source(*g, ds, "");
    const std::string stmt = lowered(p, t);
    EXPECT_TRUE(allocated_in_closure(stmt, c.f.name())) << stmt;
    for (const std::string &size : allocations(stmt, c.f.name()))
        EXPECT_FALSE(std::regex_search(size, std::regex("[A-Za-z_]")))
            << "f's buffer sized at run time: " << stmt;

    Halide::Buffer<float> got = p.realize({kChannels, 32, 32}, t);
    EXPECT_EQ(harl_test::compare_buffers(got, expected), "");
}

// The plugin skips its separate lowering check where the pass's child lowered the schedule:
// the child must say so only where it did.
TEST(StorageBounds, TheChildSaysWhetherItLoweredTheSchedule) {
    Scheduled x;
    const harl::StorageBoundsResult r =
        harl::storage_bound_directives_in_child(*x.g, x.p, x.t, x.ds, harl::storage_hints(x.s), 60);
    EXPECT_TRUE(r.lowered);
    EXPECT_EQ(r.bounds.size(), 1u);

    // Nothing computed inside a loop: nothing for the pass to bound, so no lowering either.
    Chain c;
    Halide::Pipeline p(c.out);
    std::string rfactor;
    auto g = harl::analyse_pipeline(p, x.t, kParams, &rfactor);
    const harl::ScheduleState s = harl::replay_decisions(*g, 2,
                                                         "// Decisions:\n"
                                                         "//   out: root | tiles 64 vec 0x16\n"
                                                         "//   h: root | tiles 40 vec 0x8\n"
                                                         "//   f: root | tiles 48 vec 0x8\n"
                                                         "//   in_im: inline\n\n");
    const harl::StorageBoundsResult none = harl::storage_bound_directives_in_child(
        *g, p, x.t, harl::make_directives(s), harl::storage_hints(s), 60);
    EXPECT_FALSE(none.lowered);
    EXPECT_TRUE(none.bounds.empty());
}

TEST(StorageBounds, AHintTooSmallIsNeverUsed) {
    Scheduled x;
    harl::apply_directives(*x.g, x.ds);
    const int f_node = node_named(*x.g, x.c.f.name());
    for (int64_t hint : {8, 40}) {
        harl::StorageHints hints{{f_node, {hint}}};
        for (const harl::Directive &d : harl::storage_bound_directives(*x.g, x.p, x.t, x.ds, hints))
            EXPECT_GE(d.factor, 41) << "hint " << hint << ": a bound below the 41 points a tile reads";
    }
}
