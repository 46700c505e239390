// FNV-1a, 64 bit: the weights file's checksum, and stable hashes of keys and schedule text
// in the training tools (the same value on every machine and run).
#pragma once

#include <cstddef>
#include <cstdint>

namespace harl {

inline uint64_t fnv1a(const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

} // namespace harl
