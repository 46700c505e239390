#include "TargetModel.h"
#include "Errors.h"

#include <sstream>

namespace harl {

CudaLimits TargetModel::cuda(int cap) {
    // Limits from the CUDA C Programming Guide, "Features and Technical Specifications"
    // (per compute capability); throughput of a representative part (GTX 1080 Ti, V100, T4,
    // A100, RTX 3090, H100 SXM).
    CudaLimits c;
    c.capability = cap;
    switch (cap) {
    case 61:
        c.shared_bytes_per_sm = 96 * 1024;
        c.max_blocks_per_sm = 32;
        c.sm_count = 28, c.clock_hz = 1.58e9, c.dram_bytes_per_s = 484e9;
        break;
    case 70:
        c.shared_bytes_per_sm = 96 * 1024;
        c.sm_count = 80, c.clock_hz = 1.53e9, c.dram_bytes_per_s = 900e9;
        break;
    case 75:
        c.shared_bytes_per_sm = 64 * 1024;
        c.max_threads_per_sm = 1024;
        c.max_blocks_per_sm = 16;
        c.sm_count = 40, c.clock_hz = 1.59e9, c.dram_bytes_per_s = 320e9;
        break;
    case 80:
        c.shared_bytes_per_sm = 164 * 1024;
        c.sm_count = 108, c.clock_hz = 1.41e9, c.dram_bytes_per_s = 1555e9;
        break;
    case 86:
        c.shared_bytes_per_sm = 100 * 1024;
        c.max_threads_per_sm = 1536;
        c.max_blocks_per_sm = 16;
        c.sm_count = 82, c.clock_hz = 1.70e9, c.dram_bytes_per_s = 936e9;
        break;
    case 90:
        c.shared_bytes_per_sm = 228 * 1024;
        c.sm_count = 132, c.clock_hz = 1.83e9, c.dram_bytes_per_s = 3350e9;
        break;
    default:
        throw HarlError("CUDA compute capability " + std::to_string(cap) +
                        " is not described by HARL's TargetModel (known: 61, 70, 75, 80, 86, 90)");
    }
    return c;
}

TargetModel TargetModel::from(const Halide::Target &t, const Halide::MachineParams &mp) {
    using T = Halide::Target;
    TargetModel m;
    m.target = t.to_string();
    m.parallelism = std::max(1, mp.parallelism);
    m.llc_bytes = (int64_t)std::max<uint64_t>(64 * 1024, mp.last_level_cache_size);
    m.vector_bytes = t.has_feature(T::AVX512)                          ? 64
                     : t.has_feature(T::AVX2) || t.has_feature(T::AVX) ? 32
                                                                       : 16;
    m.vector_registers = t.has_feature(T::AVX512) || t.arch == T::ARM ? 32 : 16;
    if (t.has_feature(T::CUDA)) {
        m.kind = Cuda;
        // Halide 14's highest capability feature is 86; cuda_capability_86 code also runs on
        // sm_90 (the PTX is JIT-compiled or assembled by ptxas for it).
        int cap = t.get_cuda_capability_lower_bound();
        if (cap < 61) cap = 61; // Halide's default CUDA target (sm_20/30) has these limits too
        if (cap != 61 && cap != 70 && cap != 75 && cap != 80 && cap != 86)
            cap = cap >= 86 ? 86 : cap >= 80 ? 80 : cap >= 75 ? 75 : cap >= 70 ? 70 : 61;
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
        os << "CPU " << target << ": " << vector_bytes << "-byte vectors, " << vector_registers
           << " vector registers, LLC " << llc_bytes << " bytes, " << parallelism << " cores";
    } else {
        os << (kind == Cuda ? "CUDA sm_" + std::to_string(gpu.capability) : std::string("GPU")) << " "
           << target << ": " << gpu.max_threads_per_block << " threads/block, " << gpu.shared_bytes_per_block
           << " B shared/block, " << gpu.registers_per_block << " registers/block, "
           << gpu.max_registers_per_thread << " registers/thread, warp " << gpu.warp_size;
    }
    return os.str();
}

} // namespace harl
