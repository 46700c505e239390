#include "PipelineGraph.h"
#include "Errors.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <sstream>

namespace harl {

using namespace Halide;
using namespace Halide::Internal;

int64_t region_points(const Region &r) {
    int64_t n = 1;
    for (const auto &s : r)
        n *= std::max<int64_t>(1, s.extent());
    return n;
}

void region_union(Region *into, const Region &part) {
    if (into->empty()) {
        *into = part;
        return;
    }
    for (size_t d = 0; d < into->size(); d++) {
        (*into)[d].min = std::min((*into)[d].min, part[d].min);
        (*into)[d].max = std::max((*into)[d].max, part[d].max);
    }
}

const char *op_kind_name(int k) {
    static const char *names[NumOpKinds] = {"fadd", "fmul",       "fdiv", "iadd", "imul",
                                            "idiv", "cmp_select", "math", "cast", "load"};
    return names[k];
}

int Stage::loop_of_pure(int pure_dim) const {
    for (int k = 0; k < (int)loops.size(); k++) {
        if (!loops[k].rvar && loops[k].pure_dim == pure_dim) return k;
    }
    return -1;
}

int Stage::max_fused_parallel_loops() const {
    int pure = 0;
    for (const auto &lv : loops)
        pure += !lv.rvar;
    return reads_only_inputs ? std::min(pure, 1) : pure;
}

bool Stage::tileable() const {
    for (const auto &l : loops) {
        if (!l.rvar && !l.free) return false;
    }
    return true;
}

std::vector<Span> Stage::loop_box(const Region &func_region) const {
    std::vector<Span> box;
    box.reserve(loops.size());
    for (const auto &l : loops)
        box.push_back(l.rvar ? l.rdom : func_region.at(l.pure_dim));
    return box;
}

namespace {

// Calls `fn` on every Call node inside `e` (nested calls included).
void for_each_call(const Expr &e, const std::function<void(const Call *)> &fn) {
    class Walker : public IRVisitor {
      public:
        const std::function<void(const Call *)> &fn;
        explicit Walker(const std::function<void(const Call *)> &f) : fn(f) {}
        using IRVisitor::visit;
        void visit(const Call *op) override {
            fn(op);
            IRVisitor::visit(op);
        }
    } w(fn);
    if (e.defined()) e.accept(&w);
}

std::optional<int64_t> eval_const(const Expr &e, const std::map<std::string, Expr> &subs) {
    if (!e.defined()) return std::nullopt;
    Expr s = simplify(substitute(subs, e));
    if (const int64_t *i = as_const_int(s)) return *i;
    if (const uint64_t *u = as_const_uint(s)) return (int64_t)*u;
    if (const double *f = as_const_float(s)) return (int64_t)std::floor(*f);
    return std::nullopt;
}

// Finds Params without estimates (they make bounds unknowable) and names them.
class ParamEstimateChecker : public IRVisitor {
  public:
    std::string owner;
    using IRVisitor::visit;
    void visit(const Variable *op) override {
        if (op->param.defined() && !op->param.is_buffer() && !op->param.estimate().defined()) {
            throw HarlError("Param '" + op->param.name() + "' (used by Func '" + owner +
                            "') has no estimate; call " + op->param.name() +
                            ".set_estimate(value) so HARL can size the pipeline");
        }
    }
};

// Strips min/max against a constant from index expressions that do not load data: clamps from
// BoundaryConditions only trim footprints at the image edge, and keeping them would make every
// stencil access non-affine. Data-dependent indices keep their clamps (they bound the access).
// The bounds with the clamps kept are recorded beside (AccessMap::clamped_min / clamped_max) and
// trim root regions, as Halide's bounds inference does.
class ClampStripper : public IRMutator {
    bool in_index = false;
    static bool has_call(const Expr &e) {
        bool found = false;
        for_each_call(e, [&](const Call *c) {
            found |= (c->call_type == Call::Halide || c->call_type == Call::Image);
        });
        return found;
    }
    template <typename T> Expr strip(const T *op) {
        if (in_index) {
            bool ca = is_const(op->a), cb = is_const(op->b);
            if (cb && !ca && !has_call(op->a)) return mutate(op->a);
            if (ca && !cb && !has_call(op->b)) return mutate(op->b);
        }
        return IRMutator::visit(op);
    }

  public:
    // Per Func or image read: which of its arguments lost a clamp (AccessMap::clamped_dims),
    // over every expression this stripper has mutated.
    std::map<std::string, std::vector<bool>> stripped_args;
    using IRMutator::visit;
    Expr visit(const Min *op) override { return strip(op); }
    Expr visit(const Max *op) override { return strip(op); }
    Expr visit(const Call *op) override {
        if (op->is_intrinsic(Call::likely) || op->is_intrinsic(Call::likely_if_innermost)) {
            return mutate(op->args[0]);
        }
        if (op->call_type != Call::Halide && op->call_type != Call::Image) return IRMutator::visit(op);
        bool old = in_index;
        in_index = true;
        std::vector<Expr> args;
        for (size_t i = 0; i < op->args.size(); i++) {
            args.push_back(mutate(op->args[i]));
            if (!equal(args.back(), op->args[i])) {
                std::vector<bool> &stripped = stripped_args[op->name];
                stripped.resize(std::max(stripped.size(), op->args.size()), false);
                stripped[i] = true;
            }
        }
        in_index = old;
        return Call::make(op->type, op->name, args, op->call_type, op->func, op->value_index, op->image,
                          op->param);
    }
};

class OpCounter : public IRVisitor {
  public:
    OpCounts ops{};
    std::map<std::string, int> calls;
    int max_bits = 8;
    using IRVisitor::visit;

  private:
    void note(Type t) {
        if (!t.is_bool() && !t.is_handle()) max_bits = std::max(max_bits, t.bits());
    }
    void arith(Type t, int fkind, int ikind) {
        note(t);
        ops[t.is_float() ? fkind : ikind] += 1;
    }
    void visit(const Add *op) override { arith(op->type, OpFAdd, OpIAdd), IRVisitor::visit(op); }
    void visit(const Sub *op) override { arith(op->type, OpFAdd, OpIAdd), IRVisitor::visit(op); }
    void visit(const Mul *op) override { arith(op->type, OpFMul, OpIMul), IRVisitor::visit(op); }
    void visit(const Div *op) override { divide(op->type, op->b), IRVisitor::visit(op); }
    void visit(const Mod *op) override { divide(op->type, op->b), IRVisitor::visit(op); }
    // What a division compiles to: a float one by a constant is a multiplication by its
    // reciprocal (Halide's simplifier rewrites it), an integer one by a power of two a shift or a
    // mask; the rest are real divisions (integer ones by other constants stay counted as such:
    // their multiply-high sequences cost several instructions).
    void divide(Type t, const Expr &divisor) {
        if (is_const(divisor) && t.is_float()) return arith(t, OpFMul, OpIMul);
        int bits = 0;
        if (!t.is_float() && is_const_power_of_two_integer(divisor, &bits)) return arith(t, OpIAdd, OpIAdd);
        arith(t, OpFDiv, OpIDiv);
    }
    void visit(const Min *op) override { ops[OpCmpSelect]++, note(op->type), IRVisitor::visit(op); }
    void visit(const Max *op) override { ops[OpCmpSelect]++, note(op->type), IRVisitor::visit(op); }
    void visit(const Select *op) override { ops[OpCmpSelect]++, note(op->type), IRVisitor::visit(op); }
    void visit(const EQ *op) override { ops[OpCmpSelect]++, IRVisitor::visit(op); }
    void visit(const NE *op) override { ops[OpCmpSelect]++, IRVisitor::visit(op); }
    void visit(const LT *op) override { ops[OpCmpSelect]++, IRVisitor::visit(op); }
    void visit(const LE *op) override { ops[OpCmpSelect]++, IRVisitor::visit(op); }
    void visit(const GT *op) override { ops[OpCmpSelect]++, IRVisitor::visit(op); }
    void visit(const GE *op) override { ops[OpCmpSelect]++, IRVisitor::visit(op); }
    void visit(const And *op) override { ops[OpCmpSelect]++, IRVisitor::visit(op); }
    void visit(const Or *op) override { ops[OpCmpSelect]++, IRVisitor::visit(op); }
    void visit(const Cast *op) override { ops[OpCast]++, note(op->type), IRVisitor::visit(op); }
    void visit(const Call *op) override {
        if (op->call_type == Call::Halide || op->call_type == Call::Image) {
            ops[OpLoad]++;
            calls[op->name]++;
            note(op->type);
            // Index arithmetic is hoisted and strength-reduced by loop lowering: count only the
            // loads it contains (data-dependent indices), not its arithmetic.
            OpCounter inner;
            for (const Expr &a : op->args)
                a.accept(&inner);
            ops[OpLoad] += inner.ops[OpLoad];
            for (const auto &kv : inner.calls)
                calls[kv.first] += kv.second;
            return;
        } else if (op->call_type == Call::PureExtern || op->call_type == Call::Extern ||
                   op->call_type == Call::ExternCPlusPlus) {
            ops[OpMath]++;
            note(op->type);
        } else {
            ops[OpCmpSelect]++;
        }
        IRVisitor::visit(op);
    }
};

// Fits `e` (an expression in the loop-bound variables) as an affine function.
AffineBound fit_affine(const Expr &e, const std::vector<std::string> &loops, std::mt19937_64 &rng) {
    AffineBound ab;
    ab.expr = e;
    if (!e.defined()) return ab;
    const int n = (int)loops.size();
    auto point = [&](const std::vector<int64_t> &mins, const std::vector<int64_t> &maxs) {
        std::map<std::string, Expr> subs;
        for (int k = 0; k < n; k++) {
            subs[loops[k] + ".min"] = Expr((int)mins[k]);
            subs[loops[k] + ".max"] = Expr((int)maxs[k]);
        }
        return eval_const(e, subs);
    };
    const int64_t base = 64, step = 1024;
    std::vector<int64_t> mins(n, base), maxs(n, base + step);
    auto v0 = point(mins, maxs);
    if (!v0) return ab;
    ab.a.assign(n, 0);
    ab.b.assign(n, 0);
    for (int k = 0; k < n; k++) {
        auto m2 = mins, x2 = maxs;
        m2[k] += step;
        x2[k] += step;
        auto vm = point(m2, maxs);
        auto vx = point(mins, x2);
        if (!vm || !vx) return ab;
        ab.a[k] = double(*vm - *v0) / step;
        ab.b[k] = double(*vx - *v0) / step;
    }
    ab.c = (double)*v0;
    for (int k = 0; k < n; k++)
        ab.c -= ab.a[k] * mins[k] + ab.b[k] * maxs[k];
    // Verify at random boxes; approximate (rounded) divisions are accepted within a small error.
    std::uniform_int_distribution<int64_t> d_min(-50, 300), d_ext(0, 400);
    for (int trial = 0; trial < 3; trial++) {
        std::vector<int64_t> m(n), x(n);
        double pred = ab.c;
        for (int k = 0; k < n; k++) {
            m[k] = d_min(rng);
            x[k] = m[k] + d_ext(rng);
            pred += ab.a[k] * m[k] + ab.b[k] * x[k];
        }
        auto v = point(m, x);
        if (!v || std::abs(pred - (double)*v) > 2 + 0.02 * std::abs((double)*v)) return ab;
    }
    ab.affine = true;
    return ab;
}

double eval_bound(const AffineBound &ab, const std::vector<Span> &box, bool *ok) {
    if (ab.affine) {
        double v = ab.c;
        for (size_t k = 0; k < box.size(); k++)
            v += ab.a[k] * box[k].min + ab.b[k] * box[k].max;
        return v;
    }
    *ok = false;
    return 0;
}

// The values of a stage's "<loop>.min" / "<loop>.max" variables for the loop box `box`.
std::map<std::string, Expr> loop_bound_values(const Stage &st, const std::vector<Span> &box) {
    std::map<std::string, Expr> subs;
    for (size_t k = 0; k < st.loops.size(); k++) {
        subs[st.loops[k].name + ".min"] = Expr((int)box[k].min);
        subs[st.loops[k].name + ".max"] = Expr((int)box[k].max);
    }
    return subs;
}

// Trims `span` (a producer dimension's region for the consumer loop box whose bound values are
// `subs`, from loop_bound_values) to what the access's clamps allow; a bound that cannot be
// evaluated leaves its side as it is.
void trim_to_clamp(const Expr &lo, const Expr &hi, const std::map<std::string, Expr> &subs, Span *span) {
    std::optional<int64_t> l = lo.defined() ? eval_const(lo, subs) : std::nullopt;
    std::optional<int64_t> h = hi.defined() ? eval_const(hi, subs) : std::nullopt;
    Span trimmed = *span;
    if (l) trimmed.min = std::max(trimmed.min, *l);
    if (h) trimmed.max = std::min(trimmed.max, *h);
    if (trimmed.extent() > 0) *span = trimmed;
}

} // namespace

Region AccessMap::apply(const std::vector<Span> &loop_box, const Region &fallback) const {
    Region r(min.size());
    for (size_t d = 0; d < min.size(); d++) {
        bool ok = true;
        double lo = eval_bound(min[d], loop_box, &ok);
        double hi = eval_bound(max[d], loop_box, &ok);
        if (ok && hi >= lo) {
            r[d] = {(int64_t)std::floor(lo), (int64_t)std::ceil(hi)};
        } else {
            HARL_ASSERT(d < fallback.size(), "fallback region missing dimension " << d);
            r[d] = fallback[d];
        }
    }
    return r;
}

double AccessMap::stride_of_loop(int k) const {
    if (min.empty() || !min[0].affine) return NAN;
    for (size_t d = 1; d < min.size(); d++) {
        if (!min[d].affine || min[d].a[k] + min[d].b[k] != 0) return NAN;
    }
    return min[0].a[k] + min[0].b[k];
}

bool AccessMap::dimension_depends_on_loop(int d, int k) const {
    for (const auto *bounds : {&min, &max}) {
        if (d >= (int)bounds->size()) return true;
        const AffineBound &b = (*bounds)[d];
        if (!b.affine || b.a[k] != 0 || b.b[k] != 0) return true;
    }
    return false;
}

bool AccessMap::lookup_moves_with(int k) const {
    const uint64_t bit = 1ull << std::min(std::max(k, 0), 63);
    for (uint64_t loops : by_data_loops)
        if (loops & bit) return true;
    return false;
}

bool AccessMap::depends_on_loop(int k) const {
    for (int d = 0; d < (int)min.size(); d++) {
        if (dimension_depends_on_loop(d, k)) return true;
    }
    return false;
}

PipelineGraph::PipelineGraph(const std::vector<Function> &outputs, const Target &target) : target_(target) {
    std::map<std::string, Function> env;
    for (const Function &f : outputs) {
        env[f.name()] = f;
        for (const auto &kv : find_transitive_calls(f))
            env.insert(kv);
    }
    std::vector<std::string> order = topological_order(outputs, env);
    std::map<std::string, int> index;
    for (const auto &name : order) {
        Node n;
        n.name = name;
        n.func = env.at(name);
        n.args = n.func.args();
        n.dims = n.func.dimensions();
        n.bytes = 0;
        for (const Type &t : n.func.output_types())
            n.bytes += t.bytes();
        if (n.func.has_extern_definition()) {
            throw HarlError("Func '" + name +
                            "' is an extern stage (define_extern); HARL cannot schedule extern "
                            "stages: give it a schedule by hand or use a pure Halide definition");
        }
        for (const Function &o : outputs)
            n.is_output |= (o.name() == name);
        n.can_inline = !n.is_output && !n.func.has_update_definition();
        index[name] = (int)nodes_.size();
        nodes_.push_back(n);
    }

    std::mt19937_64 rng(12345);
    const int num_funcs = (int)nodes_.size();
    for (int ni = 0; ni < num_funcs; ni++) {
        // A copy: input nodes are appended to nodes_ below, which may move the vector.
        const Node node = nodes_[ni];
        const Function &f = node.func;
        const int num_stages = 1 + (int)f.updates().size();
        for (int si = 0; si < num_stages; si++) {
            const Definition &def = si == 0 ? f.definition() : f.update(si - 1);
            Stage st;
            st.node = ni;
            st.index = si;
            st.name = si == 0 ? node.name : node.name + ".update(" + std::to_string(si - 1) + ")";
            st.bytes = node.bytes;
            std::vector<Expr> exprs = def.values();
            if (si == 0) {
                for (int d = 0; d < node.dims; d++)
                    st.loops.push_back({node.args[d], false, d, true, {}});
            } else {
                for (const auto &rv : def.schedule().rvars()) {
                    LoopVar lv{rv.var, true, -1, true, {}};
                    auto lo = eval_const(substitute_var_estimates(rv.min), {});
                    auto ext = eval_const(substitute_var_estimates(rv.extent), {});
                    if (!lo || !ext) {
                        ParamEstimateChecker chk;
                        chk.owner = node.name;
                        rv.min.accept(&chk);
                        rv.extent.accept(&chk);
                        throw HarlError("RDom variable '" + rv.var + "' of " + st.name +
                                        " has bounds HARL cannot evaluate from the estimates (min " +
                                        [&] {
                                            std::ostringstream os;
                                            os << rv.min;
                                            return os.str();
                                        }() +
                                        "); give its Params estimates");
                    }
                    lv.rdom = {*lo, *lo + *ext - 1};
                    st.loops.push_back(lv);
                }
                for (size_t d = 0; d < def.args().size(); d++) {
                    const Variable *v = def.args()[d].as<Variable>();
                    if (v && v->name == node.args[d]) st.loops.push_back({v->name, false, (int)d, true, {}});
                    exprs.push_back(def.args()[d]);
                }
                if (def.predicate().defined()) exprs.push_back(def.predicate());
                for (auto &lv : st.loops) {
                    for (const Expr &a : def.args())
                        lv.in_store_index |= lv.rvar && expr_uses_var(a, lv.name);
                }
            }
            OpCounter counter;
            for (const Type &t : f.output_types())
                counter.max_bits = std::max(counter.max_bits, t.bits());
            ParamEstimateChecker chk;
            chk.owner = node.name;
            for (const Expr &e : exprs) {
                e.accept(&counter);
                e.accept(&chk);
            }
            st.ops = counter.ops;
            st.vector_lanes = std::max(1, target.natural_vector_size(counter.max_bits <= 8    ? UInt(8)
                                                                     : counter.max_bits <= 16 ? UInt(16)
                                                                     : counter.max_bits <= 32 ? Float(32)
                                                                                              : Float(64)));
            // Self references decide which pure vars are free.
            for (const Expr &e : def.values()) {
                for_each_call(e, [&](const Call *c) {
                    if (c->call_type == Call::Halide && c->name == node.name) {
                        st.self_loads = true;
                        for (auto &lv : st.loops) {
                            if (lv.rvar) continue;
                            const Variable *v = c->args[lv.pure_dim].as<Variable>();
                            if (!v || v->name != lv.name) lv.free = false;
                        }
                    }
                });
            }
            // Bounds of every producer, as functions of the loop bounds.
            Scope<Interval> scope;
            std::vector<std::string> loop_names;
            for (const auto &lv : st.loops) {
                scope.push(lv.name, Interval(Variable::make(Int(32), lv.name + ".min"),
                                             Variable::make(Int(32), lv.name + ".max")));
                loop_names.push_back(lv.name);
            }
            std::map<std::string, Box> boxes, clamped_boxes;
            std::map<std::string, std::vector<bool>> data_dependent;
            // Per producer dimension read at a data-dependent index: the loops whose variables
            // that index uses (bit k: loop k; bit 63 also stands for every loop past it).
            std::map<std::string, std::vector<uint64_t>> data_loops;
            ClampStripper stripper;
            for (const Expr &e : exprs) {
                const Expr full = substitute_var_estimates(e);
                Expr clean = stripper.mutate(full);
                if (!equal(clean, full)) {
                    for (auto &kv : boxes_required(full, scope)) {
                        auto it = clamped_boxes.find(kv.first);
                        clamped_boxes[kv.first] =
                            it == clamped_boxes.end() ? kv.second : box_union(it->second, kv.second);
                    }
                }
                for_each_call(clean, [&](const Call *c) {
                    if (c->call_type != Call::Halide && c->call_type != Call::Image) return;
                    std::vector<bool> &dd = data_dependent[c->name];
                    dd.resize(std::max(dd.size(), c->args.size()), false);
                    std::vector<uint64_t> &dl = data_loops[c->name];
                    dl.resize(std::max(dl.size(), c->args.size()), 0);
                    for (size_t i = 0; i < c->args.size(); i++) {
                        bool by_data = false;
                        for_each_call(c->args[i], [&](const Call *inner) {
                            if (inner->call_type == Call::Halide || inner->call_type == Call::Image)
                                by_data = true;
                        });
                        if (!by_data) continue;
                        dd[i] = true;
                        for (size_t k = 0; k < loop_names.size(); k++) {
                            if (k >= 64 || expr_uses_var(c->args[i], loop_names[k]))
                                dl[i] |= 1ull << std::min<size_t>(k, 63);
                        }
                    }
                });
                for (auto &kv : boxes_required(clean, scope)) {
                    auto it = boxes.find(kv.first);
                    boxes[kv.first] = it == boxes.end() ? kv.second : box_union(it->second, kv.second);
                }
            }
            for (auto &kv : boxes) {
                if (kv.first == node.name) continue;
                int p;
                auto it = index.find(kv.first);
                if (it != index.end()) {
                    p = it->second;
                } else {
                    // An input buffer: add a node for it the first time it is seen.
                    p = (int)nodes_.size();
                    Node in;
                    in.name = kv.first;
                    in.is_input = true;
                    in.dims = (int)kv.second.size();
                    index[kv.first] = p;
                    nodes_.push_back(in);
                }
                AccessMap am;
                am.producer = p;
                am.calls = counter.calls.count(kv.first) ? counter.calls.at(kv.first) : 1;
                std::vector<bool> &by_data = nodes_[p].indexed_by_data;
                const std::vector<bool> &here = data_dependent[kv.first];
                by_data.resize(kv.second.size(), false);
                for (size_t d = 0; d < here.size() && d < by_data.size(); d++)
                    by_data[d] = by_data[d] || here[d];
                am.by_data_loops.assign(kv.second.size(), 0);
                const std::vector<uint64_t> &loops_here = data_loops[kv.first];
                for (size_t d = 0; d < loops_here.size() && d < am.by_data_loops.size(); d++)
                    am.by_data_loops[d] = loops_here[d];
                for (const auto &iv : kv.second.bounds) {
                    am.min.push_back(fit_affine(iv.has_lower_bound() ? iv.min : Expr(), loop_names, rng));
                    am.max.push_back(fit_affine(iv.has_upper_bound() ? iv.max : Expr(), loop_names, rng));
                }
                am.clamped_dims = stripper.stripped_args[kv.first];
                am.clamped_dims.resize(kv.second.size(), false);
                auto clamped = clamped_boxes.find(kv.first);
                if (clamped != clamped_boxes.end() && clamped->second.size() == kv.second.size()) {
                    for (const auto &iv : clamped->second.bounds) {
                        am.clamped_min.push_back(iv.has_lower_bound() ? iv.min : Expr());
                        am.clamped_max.push_back(iv.has_upper_bound() ? iv.max : Expr());
                    }
                }
                st.loads.push_back(am);
            }
            nodes_[ni].stages.push_back(st);
        }
    }
    // Input buffer types (bytes per point) come from the Call nodes that read them.
    for (auto &n : nodes_) {
        if (!n.is_input) continue;
        for (const auto &m : nodes_) {
            if (m.is_input) continue;
            for (const auto &st : m.stages) {
                const Definition &def = st.index == 0 ? m.func.definition() : m.func.update(st.index - 1);
                for (const Expr &e : def.values()) {
                    for_each_call(e, [&](const Call *c) {
                        if (c->name == n.name) n.bytes = c->type.bytes();
                    });
                }
            }
        }
    }
    // Edges.
    for (int ni = 0; ni < (int)nodes_.size(); ni++) {
        for (const auto &st : nodes_[ni].stages) {
            for (const auto &am : st.loads) {
                auto &cons = nodes_[am.producer].consumers;
                if (std::find(cons.begin(), cons.end(), ni) == cons.end()) cons.push_back(ni);
                auto &prods = nodes_[ni].producers;
                if (std::find(prods.begin(), prods.end(), am.producer) == prods.end())
                    prods.push_back(am.producer);
            }
        }
    }
    // Reads only inputs, also through pure Funcs that do (which the search may inline), until
    // nothing changes: a chain of such Funcs is at most as long as the pipeline.
    for (bool changed = true; changed;) {
        changed = false;
        for (auto &n : nodes_) {
            if (n.stages.size() != 1 || n.stages[0].loads.empty() || n.stages[0].reads_only_inputs) continue;
            bool only_inputs = true;
            for (const auto &am : n.stages[0].loads) {
                const Node &p = nodes_[am.producer];
                only_inputs &= p.is_input || (p.stages.size() == 1 && p.stages[0].reads_only_inputs);
            }
            n.stages[0].reads_only_inputs = only_inputs;
            changed |= only_inputs;
        }
    }
    // Root regions, consumers first: outputs from their estimates, the rest from what their
    // consumers need.
    for (int ni = num_funcs - 1; ni >= 0; ni--) {
        Node &n = nodes_[ni];
        if (n.is_output) {
            const auto &est = n.func.schedule().estimates();
            n.root.assign(n.dims, Span{});
            std::vector<bool> seen(n.dims, false);
            for (const auto &b : est) {
                auto it = std::find(n.args.begin(), n.args.end(), b.var);
                if (it == n.args.end()) continue;
                int d = (int)(it - n.args.begin());
                auto lo = eval_const(substitute_var_estimates(b.min), {});
                auto ext = eval_const(substitute_var_estimates(b.extent), {});
                if (lo && ext) {
                    n.root[d] = {*lo, *lo + *ext - 1};
                    seen[d] = true;
                }
            }
            for (int d = 0; d < n.dims; d++) {
                if (!seen[d]) {
                    throw HarlError("output Func '" + n.name + "' has no estimate for dimension " +
                                    std::to_string(d) + " ('" + n.args[d] + "'): call " + n.name +
                                    ".set_estimate(" + n.args[d] +
                                    ", min, extent) or set_estimates() on the generator Output");
                }
            }
        }
    }
    auto propagate = [&](int ci) {
        Node &c = nodes_[ci];
        for (auto &st : c.stages) {
            std::vector<Span> box = st.loop_box(c.root);
            const std::map<std::string, Expr> subs = loop_bound_values(st, box);
            for (auto &am : st.loads) {
                Node &p = nodes_[am.producer];
                Region r(am.min.size());
                am.clamp_binds_low.assign(am.min.size(), false);
                am.clamp_binds_high.assign(am.min.size(), false);
                for (size_t d = 0; d < am.min.size(); d++) {
                    bool ok = true;
                    double lo = eval_bound(am.min[d], box, &ok), hi = eval_bound(am.max[d], box, &ok);
                    if (!ok) {
                        // Exact evaluation of the non-affine bound over the whole consumer region.
                        auto elo = eval_const(am.min[d].expr, subs), ehi = eval_const(am.max[d].expr, subs);
                        if (!elo || !ehi) {
                            throw HarlError("Func '" + c.name + "' (" + st.name + ") reads '" + p.name +
                                            "' in dimension " + std::to_string(d) +
                                            " at an index HARL cannot bound (data-dependent or unbounded); "
                                            "clamp that index to the range it may take");
                        }
                        lo = (double)*elo, hi = (double)*ehi;
                    }
                    r[d] = {(int64_t)std::floor(lo), (int64_t)std::ceil(hi)};
                    if (d < am.clamped_min.size()) {
                        const Span unclamped = r[d];
                        trim_to_clamp(am.clamped_min[d], am.clamped_max[d], subs, &r[d]);
                        am.clamp_binds_low[d] = r[d].min > unclamped.min;
                        am.clamp_binds_high[d] = r[d].max < unclamped.max;
                    }
                }
                region_union(&p.root, r);
            }
        }
    };
    for (int ni = num_funcs - 1; ni >= 0; ni--) {
        HARL_ASSERT(!nodes_[ni].root.empty() || nodes_[ni].dims == 0,
                    "Func '" << nodes_[ni].name << "' has no consumers and is not an output");
        if (nodes_[ni].root.empty()) nodes_[ni].root.assign(0, Span{});
        propagate(ni);
    }
    // Input estimates must exist (Halide requires them to compile the pipeline's bounds queries).
    for (auto &n : nodes_) {
        if (!n.is_input) continue;
        for (const auto &m : nodes_) {
            if (m.is_input) continue;
            for (const auto &st : m.stages) {
                const Definition &def = st.index == 0 ? m.func.definition() : m.func.update(st.index - 1);
                for (const Expr &e : def.values()) {
                    for_each_call(e, [&](const Call *c) {
                        if (c->name == n.name && c->param.defined()) {
                            for (int d = 0; d < c->param.dimensions(); d++) {
                                if (!c->param.min_constraint_estimate(d).defined() ||
                                    !c->param.extent_constraint_estimate(d).defined()) {
                                    throw HarlError("input '" + n.name + "' has no estimate for dimension " +
                                                    std::to_string(d) +
                                                    ": call set_estimates() on it (min and "
                                                    "extent of every dimension)");
                                }
                            }
                        }
                    });
                }
            }
        }
    }
    for (int i = (int)nodes_.size() - 1; i >= 0; i--) {
        if (!nodes_[i].is_input) decision_order_.push_back(i);
    }
}

std::string PipelineGraph::describe() const {
    std::ostringstream os;
    for (size_t i = 0; i < nodes_.size(); i++) {
        const Node &n = nodes_[i];
        os << i << " " << (n.is_input ? "input " : n.is_output ? "output " : "") << n.name << " [";
        for (const auto &s : n.root)
            os << s.min << ".." << s.max << " ";
        os << "]\n";
        for (const auto &st : n.stages) {
            os << "  " << st.name << " loops:";
            for (const auto &l : st.loops)
                os << " " << l.name << (l.rvar ? "(r)" : "") << (l.free ? "" : "(fixed)");
            os << " lanes " << st.vector_lanes << " loads:";
            for (const auto &am : st.loads) {
                os << " " << nodes_[am.producer].name << "x" << am.calls;
                for (size_t d = 0; d < am.min.size(); d++)
                    os << (am.min[d].affine && am.max[d].affine ? "" : "~");
            }
            os << "\n";
        }
    }
    return os.str();
}

} // namespace harl
