// SampleLog: measured candidates of HARL_MEASURE runs, appended to a file (HARL_SAMPLES) so they
// can join the training dataset: `harl-collect --db DATASET --import FILE` adds them as samples
// (one dataset pipeline per scheduled pipeline and target).
//
// File: a sequence of records, each "HSMP", u32 payload bytes, payload; the payload holds, as
// u32-length-prefixed strings, the pipeline label, target, machine_params, status and message,
// then f64 runtime, f64 median, f64 compile seconds, u32 runs, and the HARLFEAT featurization
// bytes (u32 length + bytes). Appends are whole records, so an interrupted run loses at most
// the record being written (the reader stops with an error naming the offset).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace harl {

struct MeasuredSample {
    std::string pipeline, target, machine_params, status, message;
    double runtime_s = 0, median_s = 0, compile_s = 0;
    int runs = 0;
    std::vector<uint8_t> features;
};

void append_measured_sample(const std::string &path, const MeasuredSample &s);
std::vector<MeasuredSample> read_measured_samples(const std::string &path);

} // namespace harl
