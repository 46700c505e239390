#include "StageProfile.h"
#include "Errors.h"
#include "TempFile.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace harl {

namespace {

constexpr const char *kRunMarker = "HARL-PROFILED-RUN";

// Where the child's profiler reports go: a temporary file both processes know (the handler
// is a plain function, so the file is a global while a profile runs).
std::FILE *g_report_file = nullptr;

void write_report(Halide::JITUserContext *, const char *text) {
    if (!g_report_file) return;
    std::fputs(text, g_report_file);
    std::fflush(g_report_file);
}

void mark_run() {
    write_report(nullptr, kRunMarker);
    write_report(nullptr, "\n");
}

} // namespace

ProfilerTotals parse_profiler_reports(const std::string &text) {
    // "  conv$1:     6.456ms   (42%)    peak: ..." and " total time: 15.05 ms  samples: ...".
    static const std::regex func_line(R"(^\s+([^\s:][^:]*):\s+([0-9.]+)ms\s+\()");
    static const std::regex total_line(R"(^\s*total time:\s+([0-9.]+) ms)");
    ProfilerTotals t;
    std::istringstream in(text);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_search(line, m, total_line)) {
            t.total_ms += std::stod(m[1]);
            t.reports++;
        } else if (std::regex_search(line, m, func_line)) {
            t.func_ms[m[1]] += std::stod(m[2]);
        }
    }
    return t;
}

StageProfile profile_realize(Halide::Pipeline &p, const Halide::Target &target, Halide::Buffer<float> &output,
                             const MeasureOptions &mo) {
    HARL_ASSERT(!g_report_file, "profile_realize is not reentrant");
    TempFile file("harl-profile");
    if (!file.ok()) throw HarlError("harl-profile: cannot create a temporary file in /tmp");
    g_report_file = std::fopen(file.path().c_str(), "w");
    if (!g_report_file) throw HarlError("harl-profile: cannot write the temporary file " + file.path());
    p.jit_handlers().custom_print = write_report;
    // Undone however this returns, so a failed measurement leaves neither the handler nor the
    // global behind for the next call (the file goes with `file`).
    struct Cleanup {
        Halide::Pipeline &p;
        ~Cleanup() {
            if (g_report_file) std::fclose(g_report_file);
            g_report_file = nullptr;
            p.jit_handlers().custom_print = nullptr;
        }
    } cleanup{p};
    const Halide::Target profiled = target.with_feature(Halide::Target::Profile);
    StageProfile out;
    out.measurement = measure_in_child(
        [&] {
            p.compile_jit(profiled);
            p.realize(output);
            mark_run();
        },
        [&] {
            p.realize(output);
            mark_run();
        },
        mo);
    std::fclose(g_report_file); // the child wrote through its own copy; nothing left to flush
    g_report_file = nullptr;
    std::ifstream in(file.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    for (size_t at = all.find(kRunMarker); at != std::string::npos; at = all.find(kRunMarker, at + 1))
        out.realizations++;
    const ProfilerTotals totals = parse_profiler_reports(all);
    if (out.realizations == 0 || totals.reports == 0) {
        throw HarlError("the profiled pipeline finished no realization (" +
                        std::string(out.measurement.status_name()) +
                        (out.measurement.message.empty() ? "" : ": " + out.measurement.message) + ")");
    }
    for (const auto &[func, ms] : totals.func_ms)
        out.func_ms_per_run[func] = ms / out.realizations;
    out.total_ms_per_run = totals.total_ms / out.realizations;
    return out;
}

} // namespace harl
