#include "HalideBuffer.h"
#include "tiny.h"

#include <cmath>
#include <cstdio>

int main() {
    Halide::Runtime::Buffer<float> in(258, 258), out(256, 256);
    in.for_each_element([&](int x, int y) { in(x, y) = (float)((x * 7 + y * 13) % 17); });
    if (tiny(in, out) != 0) return 1;
    for (int y = 0; y < 256; y++) {
        for (int x = 0; x < 256; x++) {
            float ref = 0;
            for (int dy = 0; dy < 3; dy++) {
                for (int dx = 0; dx < 3; dx++)
                    ref += in(x + dx, y + dy);
            }
            ref /= 9.0f;
            if (std::abs(out(x, y) - ref) > 1e-4f) {
                std::printf("mismatch at %d,%d: %f vs %f\n", x, y, out(x, y), ref);
                return 1;
            }
        }
    }
    std::printf("installed HARL scheduled tiny correctly\n");
    return 0;
}
