// Runs an AOT-compiled pipeline whose only argument is its output buffer (a random pipeline
// with embedded inputs), sized from the output's estimates in the pipeline's metadata, copies
// the result back from the device (GPU targets) and writes its raw bytes to a file.
// Built per pipeline with -DFN=<function name> -include <function header>.
#include "HalideBuffer.h"
#include "HalideRuntime.h"

#include <cstdio>
#include <vector>

#define HARL_CONCAT2(a, b) a##b
#define HARL_CONCAT(a, b) HARL_CONCAT2(a, b)

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTPUT_FILE\n", argv[0]);
        return 2;
    }
    const halide_filter_metadata_t *md = HARL_CONCAT(FN, _metadata)();
    if (md->num_arguments != 1 || md->arguments[0].kind != halide_argument_kind_output_buffer) {
        std::fprintf(stderr, "expected a pipeline whose only argument is its output\n");
        return 2;
    }
    const halide_filter_argument_t &a = md->arguments[0];
    std::vector<int> extents;
    for (int d = 0; d < a.dimensions; d++) {
        const int64_t *e = a.buffer_estimates[2 * d + 1];
        if (!e) {
            std::fprintf(stderr, "output dimension %d has no estimate\n", d);
            return 2;
        }
        extents.push_back((int)*e);
    }
    Halide::Runtime::Buffer<void> out(a.type, extents);
    int err = FN(out);
    if (err == 0) err = out.copy_to_host();
    if (err != 0) {
        std::fprintf(stderr, "pipeline failed: %d\n", err);
        return 1;
    }
    FILE *f = std::fopen(argv[1], "wb");
    if (!f || std::fwrite(out.data(), 1, out.size_in_bytes(), f) != out.size_in_bytes()) return 1;
    std::fclose(f);
    std::printf("%s: %d values of %d bytes\n", argv[1], (int)out.number_of_elements(), a.type.bytes());
    return 0;
}
