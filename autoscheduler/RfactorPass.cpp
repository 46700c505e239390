#include "RfactorPass.h"
#include "Errors.h"

#include <sstream>

namespace harl {

using namespace Halide;

namespace {

// Index of a Func as Pipeline::get_func() counts it right now.
int current_index(const std::vector<Internal::Function> &outputs, const std::string &name) {
    std::map<std::string, Internal::Function> env;
    for (const auto &f : outputs) {
        env[f.name()] = f;
        for (const auto &kv : Internal::find_transitive_calls(f))
            env.insert(kv);
    }
    std::vector<std::string> order = Internal::topological_order(outputs, env);
    for (size_t i = 0; i < order.size(); i++) {
        if (order[i] == name) return (int)i;
    }
    HARL_ASSERT(false, "Func " << name << " not in the pipeline");
    return -1;
}

std::string quoted(const std::string &s) {
    return "\"" + s + "\"";
}

} // namespace

RfactorResult apply_rfactor(const PipelineGraph &g, int parallelism) {
    RfactorResult res;
    std::vector<Internal::Function> outputs;
    for (const Node &n : g.nodes()) {
        if (n.is_output) outputs.push_back(n.func);
    }
    for (const Node &n : g.nodes()) {
        if (n.is_input) continue;
        for (const Stage &st : n.stages) {
            if (st.index == 0) continue;
            double pure = 1, rpoints = 1;
            int outer_rvar = -1;
            for (size_t k = 0; k < st.loops.size(); k++) {
                const LoopVar &lv = st.loops[k];
                if (lv.rvar) {
                    rpoints *= (double)lv.rdom.extent();
                    outer_rvar = (int)k;
                } else {
                    pure *= (double)n.root[lv.pure_dim].extent();
                }
            }
            // Enough parallelism already, or too little work to be worth splitting.
            if (outer_rvar < 0 || pure >= 2.0 * parallelism || rpoints < 16384) continue;
            const LoopVar &rv = st.loops[outer_rvar];
            int num_rvars = 0;
            for (const auto &lv : st.loops)
                num_rvars += lv.rvar;
            const int64_t ext = rv.rdom.extent();
            const int64_t want = 8 * (int64_t)parallelism;
            const bool split = num_rvars == 1 || ext < want;
            if (split && ext < 2 * want) continue;
            Func f(n.func);
            Halide::Stage stage = f.update(st.index - 1);
            const std::string u = n.name + "_rf_u";
            std::ostringstream src;
            const int idx = current_index(outputs, n.name);
            try {
                std::string factored = rv.name;
                if (split) {
                    const int64_t factor = (ext + want - 1) / want;
                    factored = rv.name + "_rf_o";
                    stage.split(RVar(rv.name), RVar(factored), RVar(rv.name + "_rf_i"), (int)factor,
                                TailStrategy::GuardWithIf);
                    src << "    pipeline.get_func(" << idx << ").update(" << st.index - 1 << ").split(RVar("
                        << quoted(rv.name) << "), RVar(" << quoted(factored) << "), RVar("
                        << quoted(rv.name + "_rf_i") << "), " << factor << ", TailStrategy::GuardWithIf);\n";
                }
                stage.rfactor(RVar(factored), Var(u));
                src << "    pipeline.get_func(" << idx << ").update(" << st.index - 1 << ").rfactor(RVar("
                    << quoted(factored) << "), Var(" << quoted(u) << "));\n";
            } catch (const Halide::CompileError &) {
                continue; // not associative: Halide refuses, the stage stays serial
            }
            res.applied++;
            res.source.push_back(src.str());
            return res; // one at a time: the caller re-analyses and calls again
        }
    }
    return res;
}

} // namespace harl
