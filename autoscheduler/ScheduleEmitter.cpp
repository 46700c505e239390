#include "ScheduleEmitter.h"
#include "Errors.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace harl {

using namespace Halide;

namespace {

// A fused loop a stage does not fuse after all (below): producers computed at it go to the
// innermost of its parts, which iterates the same (outer tile, ...) combinations.
struct Unfused {
    std::string fused, innermost;
};

void stage_directives(const Node &n, int si, const StageChoice &ch, const LoopNest &nest, const Region &box,
                      int node, bool fuse_loops, std::vector<Directive> *out, Unfused *unfused) {
    if (!ch.scheduled) return;
    const Stage &st = n.stages[si];
    auto add = [&](Directive d) {
        d.node = node;
        d.stage = si;
        out->push_back(d);
    };
    // Splits never compute outside the region a stage must produce, so that no stage ever reads
    // beyond an input buffer: outputs' pure stages shift the last tile inwards (Halide's default),
    // everything else guards its tail.
    const bool guard = !(n.is_output && si == 0);
    int vector_first = -1; // the loop var whose vector lanes were split off first
    for (int k = 0; k < (int)st.loops.size(); k++) {
        const LoopVar &lv = st.loops[k];
        if (lv.rvar) continue;
        int64_t t = ch.tile[k];
        if (k == ch.vector_var) {
            const int64_t extent = box.at(k).extent(); // loop_box: one Span per loop var
            const bool exact = lv.pure_dim < 0 || lv.pure_dim >= (int)n.indexed_by_data.size() ||
                               !n.indexed_by_data[lv.pure_dim];
            if (t > ch.vector_width && guard && t % ch.vector_width == 0 && (extent % t != 0 || !exact)) {
                // A guarded tail tile: split the vector lanes off first, then tile the vectors
                // (the same loops). In the usual tile-then-vector order, when Halide 14 knows the
                // extent as a constant that is a multiple of the vector width but not of the
                // tile, it drops the tail tile's guard (184 rows in tiles of 32: rows 184..191
                // written, the heap corrupted; random pipelines 40031 and 50022 in harl-collect,
                // FuzzRegression in tests/test_fuzz.cpp). The region HARL estimates can exceed
                // Halide's by a row (its access maps are affine fits, so y/2 over 0..479 reaches
                // 240), so this does not require `extent` itself to be a multiple of the vector
                // width, and where a consumer reads the dimension at a data-dependent index
                // (Node::indexed_by_data: random pipeline 61022 looked its 256 histogram bins up
                // at a uint16 input's quarter plus 128, Halide allocated 128) a tail is assumed. Only for
                // tiles with a tail: where tiles divide the extent this order makes Halide guard the steady
                // state too (conv3x3 3x slower).
                vector_first = k;
                add(Directive(Directive::Split, {lv.name, lv.name + "_t", lv.name + "_v"}, ch.vector_width,
                              guard));
                add(Directive(Directive::Split, {lv.name + "_t", lv.name + "_o", lv.name + "_i"},
                              t / ch.vector_width, guard));
            } else if (t > ch.vector_width) {
                add(Directive(Directive::Split, {lv.name, lv.name + "_o", lv.name + "_t"}, t, guard));
                add(Directive(Directive::Split, {lv.name + "_t", lv.name + "_i", lv.name + "_v"},
                              ch.vector_width, guard));
            } else {
                add(Directive(Directive::Split, {lv.name, lv.name + "_o", lv.name + "_v"}, ch.vector_width,
                              guard));
            }
        } else if (t > 1) {
            add(Directive(Directive::Split, {lv.name, lv.name + "_o", lv.name + "_i"}, t, guard));
        }
    }
    // Reorder to the nest's order (innermost first), naming the loops before fusion.
    Directive re(Directive::Reorder);
    for (const auto &l : nest.loops) {
        if (l.vars.size() > 1) continue;
        re.vars.push_back(l.name);
        re.rvar.push_back(l.kind == LoopInfo::RVar);
    }
    // Fused loops: their parts go outermost, in order.
    std::vector<std::string> fused_parts;
    const LoopInfo *fused = nullptr;
    for (const auto &l : nest.loops) {
        if (l.vars.size() > 1) fused = &l;
    }
    if (fused) {
        // Rebuild the names of the fused outer loops from the loop vars, innermost first.
        for (int v : fused->vars) {
            const LoopVar &lv = st.loops[v];
            std::string nm = (ch.tile[v] > 1 || v == ch.vector_var) ? lv.name + "_o" : lv.name;
            fused_parts.push_back(nm);
            re.vars.push_back(nm);
            re.rvar.push_back(false);
        }
    }
    if (re.vars.size() > 1) add(re);
    // Halide 14 infers loose bounds for the other dimensions of a loop fused with the outer
    // tiles of a vector-first split (random pipeline 61001: an input read at -2). Such a stage
    // runs only the outermost loop of the group in parallel instead.
    const bool fuse = fuse_loops && fused &&
                      std::find(fused->vars.begin(), fused->vars.end(), vector_first) == fused->vars.end();
    if (fused && !fuse) *unfused = {fused->name, fused_parts[0]};
    if (fuse) {
        std::string cur = fused_parts[0];
        for (size_t i = 1; i < fused_parts.size(); i++) {
            std::string name = i + 1 == fused_parts.size() ? fused->name : fused->name + std::to_string(i);
            add(Directive(Directive::Fuse, {cur, fused_parts[i], name}));
            cur = name;
        }
    }
    for (const auto &l : nest.loops) {
        if (l.parallel)
            add(Directive(Directive::Parallel, {&l == fused && !fuse ? fused_parts.back() : l.name}));
        if (l.vectorized) add(Directive(Directive::Vectorize, {l.name}));
        if (l.unrolled) add(Directive(Directive::Unroll, {l.name}));
    }
}

} // namespace

std::vector<Directive> make_directives(const ScheduleState &s, bool fuse_loops) {
    HARL_ASSERT(s.complete(), "emitting an incomplete schedule");
    const PipelineGraph &g = s.graph();
    std::vector<Directive> out;
    std::map<int, Unfused> unfused; // per node, of its stage 0 (the one producers are computed in)
    // Nests are needed for names of fused/split loops; regions do not matter for names, so any
    // box works. Use the root region.
    for (int node = 0; node < g.num_nodes(); node++) {
        const Node &n = g.node(node);
        if (n.is_input) continue;
        const FuncChoice &c = s.choice(node);
        if (c.placement == Placement::Inline) continue;
        if (c.placement == Placement::Root) {
            Directive d(Directive::ComputeRoot);
            d.node = node;
            out.push_back(d);
        } else {
            const Node &cn = g.node(c.at_node);
            const FuncChoice &cc = s.choice(c.at_node);
            LoopNest cnest = build_loop_nest(cn.stages[0], cc.stages[0], cn.stages[0].loop_box(cn.root));
            const LoopInfo &at = cnest.loops.at(c.at_loop);
            Directive d(Directive::ComputeAt, {at.name});
            d.node = node;
            d.rvar = {at.kind == LoopInfo::RVar};
            d.target_node = c.at_node;
            out.push_back(d);
            if (c.store_loop > c.at_loop) {
                const LoopInfo &sl = cnest.loops.at(c.store_loop);
                Directive sd(Directive::StoreAt, {sl.name});
                sd.node = node;
                sd.rvar = {sl.kind == LoopInfo::RVar};
                sd.target_node = c.at_node;
                out.push_back(sd);
            }
        }
        for (size_t si = 0; si < n.stages.size(); si++) {
            const Region box = n.stages[si].loop_box(n.root);
            LoopNest nest = build_loop_nest(n.stages[si], c.stages[si], box);
            Unfused u;
            stage_directives(n, (int)si, c.stages[si], nest, box, node, fuse_loops, &out, &u);
            if (si == 0 && !u.fused.empty()) unfused[node] = u;
        }
    }
    for (Directive &d : out) {
        if (d.op != Directive::ComputeAt && d.op != Directive::StoreAt) continue;
        auto it = unfused.find(d.target_node);
        if (it != unfused.end() && d.vars.at(0) == it->second.fused) d.vars[0] = it->second.innermost;
    }
    mark_unscheduled_updates(g, &out);
    return out;
}

void mark_unscheduled_updates(const PipelineGraph &g, std::vector<Directive> *ds) {
    // Per node, which stages have a directive of their own (compute_at / store_at / compute_root
    // are the Func's, not a stage's).
    std::map<int, std::vector<bool>> directed;
    for (const Directive &d : *ds) {
        if (d.op == Directive::ComputeRoot || d.op == Directive::ComputeAt || d.op == Directive::StoreAt)
            continue;
        std::vector<bool> &stages = directed[d.node];
        stages.resize(g.node(d.node).stages.size(), false);
        HARL_ASSERT(d.stage >= 0 && d.stage < (int)stages.size(),
                    "directive for stage " << d.stage << " of " << g.node(d.node).name << ", which has "
                                           << stages.size() << " stages");
        stages[d.stage] = true;
    }
    for (const auto &[node, stages] : directed) {
        const Internal::Function &f = g.node(node).func;
        for (size_t si = 1; si < stages.size(); si++) {
            // Halide checks the same flag: an update it already counts as scheduled (one that
            // rfactor split) draws no warning, and unscheduled() on it fails to compile.
            if (stages[si] || f.update((int)si - 1).schedule().touched()) continue;
            Directive d(Directive::Unscheduled);
            d.node = node;
            d.stage = (int)si;
            ds->push_back(d);
        }
    }
}

void apply_directives(const PipelineGraph &g, const std::vector<Directive> &ds) {
    auto vor = [](const Directive &d, size_t i) {
        return d.rvar[i] ? VarOrRVar(RVar(d.vars[i])) : VarOrRVar(Var(d.vars[i]));
    };
    for (const Directive &d : ds) {
        Func f(g.node(d.node).func);
        Halide::Stage st = d.stage == 0 ? Halide::Stage(f) : f.update(d.stage - 1);
        switch (d.op) {
        case Directive::ComputeRoot:
            f.compute_root();
            break;
        case Directive::ComputeAt:
            f.compute_at(LoopLevel(Func(g.node(d.target_node).func), vor(d, 0), d.target_stage));
            break;
        case Directive::StoreAt:
            f.store_at(LoopLevel(Func(g.node(d.target_node).func), vor(d, 0)));
            break;
        case Directive::Split:
            st.split(vor(d, 0), vor(d, 1), vor(d, 2), Expr((int)d.factor),
                     d.guard_tail ? TailStrategy::GuardWithIf : TailStrategy::Auto);
            break;
        case Directive::Reorder: {
            std::vector<VarOrRVar> vs;
            for (size_t i = 0; i < d.vars.size(); i++)
                vs.push_back(vor(d, i));
            st.reorder(vs);
            break;
        }
        case Directive::Fuse:
            st.fuse(vor(d, 0), vor(d, 1), vor(d, 2));
            break;
        case Directive::Parallel:
            st.parallel(vor(d, 0));
            break;
        case Directive::Vectorize:
            st.vectorize(vor(d, 0));
            break;
        case Directive::Unroll:
            st.unroll(vor(d, 0));
            break;
        case Directive::Unscheduled:
            st.unscheduled();
            break;
        case Directive::BoundStorage:
            f.bound_storage(Var(d.vars.at(0)), Expr((int)d.factor));
            break;
        case Directive::GpuBlocks:
        case Directive::GpuThreads: {
            HARL_ASSERT(!d.vars.empty() && d.vars.size() <= 3,
                        "GPU directive with " << d.vars.size() << " vars");
            bool blocks = d.op == Directive::GpuBlocks;
            if (d.vars.size() == 1) {
                blocks ? st.gpu_blocks(vor(d, 0)) : st.gpu_threads(vor(d, 0));
            } else if (d.vars.size() == 2) {
                blocks ? st.gpu_blocks(vor(d, 0), vor(d, 1)) : st.gpu_threads(vor(d, 0), vor(d, 1));
            } else {
                blocks ? st.gpu_blocks(vor(d, 0), vor(d, 1), vor(d, 2))
                       : st.gpu_threads(vor(d, 0), vor(d, 1), vor(d, 2));
            }
            break;
        }
        }
    }
}

std::string emit_schedule_source(const PipelineGraph &g, const std::vector<Directive> &ds,
                                 const std::string &header_comment) {
    auto ident = [](const std::string &s) {
        std::string r;
        for (char ch : s)
            r += (isalnum((unsigned char)ch) ? ch : '_');
        if (r.empty() || isdigit((unsigned char)r[0])) r = "v_" + r;
        return r;
    };
    std::ostringstream os, body;
    std::map<std::string, std::string> vars; // Halide name -> C++ declaration
    std::set<std::string> idents;
    auto var = [&](const Directive &d, size_t i) {
        const std::string &n = d.vars[i];
        std::string key = (d.rvar[i] ? "R:" : "V:") + n;
        if (!vars.count(key)) {
            std::string id = ident(n);
            while (idents.count(id))
                id += "_";
            idents.insert(id);
            vars[key] = id;
            std::ostringstream decl;
            decl << "    " << (d.rvar[i] ? "RVar " : "Var ") << id << "(\"" << n << "\");\n";
            body << decl.str();
        }
        return vars[key];
    };
    std::map<int, std::string> funcs;
    std::ostringstream calls;
    auto fn = [&](int node) {
        if (!funcs.count(node)) {
            std::string id = ident(g.node(node).name);
            while (idents.count(id))
                id += "_";
            idents.insert(id);
            funcs[node] = id;
            body << "    Func " << id << " = pipeline.get_func(" << node << ");\n";
        }
        return funcs[node];
    };
    for (const Directive &d : ds) {
        std::string f = fn(d.node);
        if (d.target_node >= 0) fn(d.target_node);
        std::vector<std::string> v;
        for (size_t i = 0; i < d.vars.size(); i++)
            v.push_back(var(d, i));
        std::string st = d.stage == 0 ? f : f + ".update(" + std::to_string(d.stage - 1) + ")";
        switch (d.op) {
        case Directive::ComputeRoot:
            calls << "    " << f << ".compute_root();\n";
            break;
        case Directive::ComputeAt:
            if (d.target_stage >= 0) {
                calls << "    " << f << ".compute_at(Halide::LoopLevel(" << funcs[d.target_node] << ", "
                      << v[0] << ", " << d.target_stage << "));\n";
            } else {
                calls << "    " << f << ".compute_at(" << funcs[d.target_node] << ", " << v[0] << ");\n";
            }
            break;
        case Directive::StoreAt:
            calls << "    " << f << ".store_at(" << funcs[d.target_node] << ", " << v[0] << ");\n";
            break;
        case Directive::Split:
            calls << "    " << st << ".split(" << v[0] << ", " << v[1] << ", " << v[2] << ", " << d.factor
                  << ", TailStrategy::" << (d.guard_tail ? "GuardWithIf" : "Auto") << ");\n";
            break;
        case Directive::Reorder:
            calls << "    " << st << ".reorder({";
            for (size_t i = 0; i < v.size(); i++)
                calls << (i ? ", " : "") << v[i];
            calls << "});\n";
            break;
        case Directive::Fuse:
            calls << "    " << st << ".fuse(" << v[0] << ", " << v[1] << ", " << v[2] << ");\n";
            break;
        case Directive::Parallel:
            calls << "    " << st << ".parallel(" << v[0] << ");\n";
            break;
        case Directive::Vectorize:
            calls << "    " << st << ".vectorize(" << v[0] << ");\n";
            break;
        case Directive::Unroll:
            calls << "    " << st << ".unroll(" << v[0] << ");\n";
            break;
        case Directive::Unscheduled:
            calls << "    " << st << ".unscheduled();\n";
            break;
        case Directive::BoundStorage:
            calls << "    " << f << ".bound_storage(" << v[0] << ", " << d.factor << ");\n";
            break;
        case Directive::GpuBlocks:
        case Directive::GpuThreads:
            calls << "    " << st << (d.op == Directive::GpuBlocks ? ".gpu_blocks(" : ".gpu_threads(");
            for (size_t i = 0; i < v.size(); i++)
                calls << (i ? ", " : "") << v[i];
            calls << ");\n";
            break;
        }
    }
    // Halide's generator wraps this in `inline void apply_schedule_<name>(Pipeline pipeline,
    // Target target) { ... }` with using-declarations for Func, Var, RVar and TailStrategy.
    os << header_comment << body.str() << "\n" << calls.str();
    return os.str();
}

} // namespace harl
