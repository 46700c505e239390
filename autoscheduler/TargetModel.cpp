#include "TargetModel.h"
#include "Errors.h"

#include <sstream>

namespace harl {

namespace {

// Per compute capability: limits from the CUDA C Programming Guide ("Features and Technical
// Specifications") that differ between generations, and the throughput of a representative
// part (GTX 1080 Ti, V100, T4, A100, RTX 3090, H100 SXM).
struct CapabilityRow {
    int capability;
    int shared_kb_per_sm, max_threads_per_sm, max_blocks_per_sm;
    int sm_count;
    double clock_hz, dram_bytes_per_s;
};
const CapabilityRow kCapabilities[] = {
    {61, 96, 2048, 32, 28, 1.58e9, 484e9},  {70, 96, 2048, 32, 80, 1.53e9, 900e9},
    {75, 64, 1024, 16, 40, 1.59e9, 320e9},  {80, 164, 2048, 32, 108, 1.41e9, 1555e9},
    {86, 100, 1536, 16, 82, 1.70e9, 936e9}, {90, 228, 2048, 32, 132, 1.83e9, 3350e9},
};

} // namespace

CudaLimits TargetModel::cuda(int cap) {
    for (const CapabilityRow &r : kCapabilities) {
        if (r.capability != cap) continue;
        CudaLimits c;
        c.capability = cap;
        c.shared_bytes_per_sm = r.shared_kb_per_sm * 1024;
        c.max_threads_per_sm = r.max_threads_per_sm;
        c.max_blocks_per_sm = r.max_blocks_per_sm;
        c.sm_count = r.sm_count;
        c.clock_hz = r.clock_hz;
        c.dram_bytes_per_s = r.dram_bytes_per_s;
        return c;
    }
    throw HarlError("CUDA compute capability " + std::to_string(cap) +
                    " is not described by HARL's TargetModel (known: 61, 70, 75, 80, 86, 90)");
}

TargetModel TargetModel::from(const Halide::Target &t, const Halide::MachineParams &mp) {
    using T = Halide::Target;
    TargetModel m;
    m.target = t.to_string();
    m.parallelism = std::max(1, mp.parallelism);
    m.llc_bytes = (int64_t)std::max<uint64_t>(64 * 1024, mp.last_level_cache_size);
    m.vector_registers = t.has_feature(T::AVX512) || t.arch == T::ARM ? 32 : 16;
    if (t.has_feature(T::CUDA)) {
        m.kind = Cuda;
        // The highest described capability the target guarantees; Halide's default CUDA target
        // (sm_20/30) gets sm_61's limits, which it has too. Halide 14's highest capability
        // feature is 86; its code also runs on sm_90 (the PTX is JIT-compiled or assembled by
        // ptxas for it).
        const int lower_bound = t.get_cuda_capability_lower_bound();
        int cap = kCapabilities[0].capability;
        for (const CapabilityRow &r : kCapabilities) {
            if (r.capability <= lower_bound) cap = r.capability;
        }
        m.gpu = cuda(cap);
    } else if (t.has_gpu_feature()) {
        // OpenCL, Metal, Vulkan, D3D12: CUDA-like limits that every current device meets
        // (256 threads per block, 32 KB of shared memory).
        m.kind = OtherGpu;
        m.gpu = cuda(61);
        m.gpu.max_threads_per_block = 256;
        m.gpu.max_block_dim[0] = m.gpu.max_block_dim[1] = 256;
        m.gpu.shared_bytes_per_block = 32 * 1024;
        m.gpu.sm_count = std::max(1, mp.parallelism);
    }
    return m;
}

std::string TargetModel::describe() const {
    std::ostringstream os;
    if (!is_gpu()) {
        os << "CPU " << target << ": " << vector_registers << " vector registers, LLC " << llc_bytes
           << " bytes, " << parallelism << " cores";
    } else {
        os << (kind == Cuda ? "CUDA sm_" + std::to_string(gpu.capability) : std::string("GPU")) << " "
           << target << ": " << gpu.max_threads_per_block << " threads/block, " << gpu.shared_bytes_per_block
           << " B shared/block, " << gpu.registers_per_block << " registers/block, "
           << gpu.max_registers_per_thread << " registers/thread, warp " << gpu.warp_size;
    }
    return os.str();
}

} // namespace harl
