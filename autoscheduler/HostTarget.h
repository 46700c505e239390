#pragma once
// The target of code that runs on this machine (JIT, measuring children, host builds).
//
// Halide 14 detects AMD Zen 4 as Sapphire Rapids (halide/Halide#7834, fixed in Halide 16): the
// CPU has AVX512-BF16 and AVX512-VNNI, so get_host_target() adds AVX512_SapphireRapids, and LLVM
// then emits instructions of Sapphire Rapids that Zen 4 lacks (vmovw of AVX512-FP16, vpdpwssd on
// xmm of AVX-VNNI): the code dies of SIGILL. These helpers drop that feature where the CPU does
// not report both extensions; every other target passes through unchanged.

#include "Halide.h"

#include <string>

namespace harl {

// Whether this CPU reports AVX512-FP16 and AVX-VNNI (CPUID leaf 7), which Halide 14's
// Sapphire Rapids code may use. False on other architectures.
bool cpu_runs_sapphire_rapids_code();

// t without the x86 features this CPU cannot run, for code that runs here. A target of another
// architecture (cross compilation) is returned unchanged.
Halide::Target runnable_here(Halide::Target t);

// A target string: "host" and "host-FEATURE..." runnable here, any other as written (a target
// named explicitly may be meant for another machine).
Halide::Target target_named(const std::string &name);

// Halide::get_host_target(), runnable here.
Halide::Target host_target();

// Halide::get_jit_target_from_environment() (HL_JIT_TARGET, else the host), runnable here.
Halide::Target jit_target();

} // namespace harl
