#include "HostTarget.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace harl {

bool cpu_runs_sapphire_rapids_code() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool avx512_fp16 = (d >> 23) & 1;
    if (a < 1 || !__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false; // no sub-leaf 1
    const bool avx_vnni = (a >> 4) & 1;
    return avx512_fp16 && avx_vnni;
#else
    return false;
#endif
}

Halide::Target runnable_here(Halide::Target t) {
    const Halide::Target host = Halide::get_host_target();
    if (t.arch != host.arch || t.bits != host.bits || t.arch != Halide::Target::X86) return t;
    if (t.has_feature(Halide::Target::AVX512_SapphireRapids) && !cpu_runs_sapphire_rapids_code()) {
        t = t.without_feature(Halide::Target::AVX512_SapphireRapids);
    }
    return t;
}

Halide::Target target_named(const std::string &name) {
    return name.rfind("host", 0) == 0 ? runnable_here(Halide::Target(name)) : Halide::Target(name);
}

Halide::Target host_target() {
    return runnable_here(Halide::get_host_target());
}

Halide::Target jit_target() {
    return runnable_here(Halide::get_jit_target_from_environment());
}

} // namespace harl
