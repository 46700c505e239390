// TargetModel: the limits and sizes of the machine a schedule is for, derived once from the
// Halide Target and MachineParams. CPU targets get their vector registers, LLC and cores; CUDA
// targets the launch limits of their compute capability (threads per block, block and grid
// dimensions, shared memory, registers, warp size) and the throughput figures of a typical part
// of that generation, which only the analytic GPU cost model uses to rank schedules.
#pragma once

#include "Halide.h"

#include <cstdint>
#include <string>

namespace harl {

struct CudaLimits {
    int capability = 0; // 61, 70, 75, 80, 86, 90
    int warp_size = 32;
    int max_threads_per_block = 1024;
    int max_block_dim[3] = {1024, 1024, 64};
    int64_t max_grid_dim[3] = {2147483647, 65535, 65535};
    int64_t shared_bytes_per_block = 48 * 1024; // static shared memory (what Halide allocates)
    int64_t shared_bytes_per_sm = 64 * 1024;
    int registers_per_sm = 65536;
    int registers_per_block = 65536;
    int max_registers_per_thread = 255;
    int max_threads_per_sm = 2048;
    int max_blocks_per_sm = 32;
    // Throughput of a typical part of this generation (ranking only, never a limit).
    int sm_count = 80;
    double clock_hz = 1.4e9;
    double fp32_flops_per_sm_cycle = 128;
    double dram_bytes_per_s = 900e9;
};

struct TargetModel {
    enum Kind { Cpu, Cuda, OtherGpu } kind = Cpu;
    std::string target; // Target::to_string()
    // CPU (from machine_params and the target's vector ISA)
    int vector_registers = 16;
    int64_t llc_bytes = 16 << 20;
    int parallelism = 8;
    // GPU (CUDA, or the CUDA-like limits assumed for OpenCL/Vulkan/Metal targets)
    CudaLimits gpu;

    bool is_gpu() const { return kind != Cpu; }
    // HarlError for GPU targets HARL cannot describe (e.g. a CUDA capability Halide 14 lacks).
    static TargetModel from(const Halide::Target &t, const Halide::MachineParams &mp);
    // The CUDA limits of a compute capability (61/70/75/80/86/90); HarlError for others.
    static CudaLimits cuda(int capability);
    std::string describe() const;
};

} // namespace harl
