// The random pipeline as a Halide generator: `-g random_pipeline seed=N` builds the pipeline of
// that seed (`layers=true`: the DNN layer stack of that seed) (training/RandomPipeline.h) with its input data
// embedded, so the compiled function takes only the output buffer. Any autoscheduler can schedule it:
//   random_pipeline.generator -g random_pipeline seed=7 -o out -e static_library,h,schedule
//       -p libharl_autosched.so -s HARL target=host auto_schedule=true machine_params=2,33554432,40
#include "Halide.h"
#include "RandomPipeline.h"

namespace {

class RandomPipelineGenerator : public Halide::Generator<RandomPipelineGenerator> {
  public:
    GeneratorParam<uint64_t> seed{"seed", 0};
    GeneratorParam<int> min_stages{"min_stages", 2, 1, 64};
    GeneratorParam<int> max_stages{"max_stages", 20, 1, 64};
    GeneratorParam<int> scale{"scale", 1, 1, 64};
    GeneratorParam<int> channel_scale{"channel_scale", 1, 1, 64};
    // layers=true: a DNN layer stack (make_random_layers) of at most about max_mflops instead
    GeneratorParam<bool> layers{"layers", false};
    GeneratorParam<int> max_mflops{"max_mflops", 400, 1, 100000};
    Output<Halide::Buffer<float>> output{"output", 3};

    void generate() {
        harl::RandomPipeline rp =
            layers ? harl::make_random_layers(seed, max_mflops, true)
                   : harl::make_random_pipeline(seed, min_stages, max_stages, scale, true, channel_scale);
        output(rp.output.args()) = rp.output(rp.output.args());
        output.set_estimates({{0, rp.output_size[0]}, {0, rp.output_size[1]}, {0, rp.output_size[2]}});
        // Without an autoscheduler: every Func at root (the reference schedule of the fuzzer).
        if (!auto_schedule) {
            output.compute_root();
            for (auto &kv : Halide::Internal::find_transitive_calls(Halide::Func(output).function())) {
                Halide::Func(kv.second).compute_root();
            }
        }
    }
};

} // namespace

HALIDE_REGISTER_GENERATOR(RandomPipelineGenerator, random_pipeline)
