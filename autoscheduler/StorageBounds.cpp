#include "StorageBounds.h"
#include "ChildProcessRunner.h"
#include "Errors.h"
#include "Featurizer.h"
#include "TempFile.h"

#include "../cost_model/FeatureLayout.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace harl {
namespace {

using namespace Halide::Internal;
using Halide::Expr;

// Per Func name: the proven constant bound of each extent of its varying-sized allocations (the
// largest over all of them); `bounded` false where some extent has none.
struct Bounds {
    std::vector<int64_t> extents;
    bool bounded = true;
};

bool has_constant_extents(const Allocate *op) {
    for (const Expr &e : op->extents)
        if (!as_const_int(e)) return false;
    return true;
}

// Whether `e`, walked as a tree (as the simplifier walks it), has fewer than `limit` nodes.
// With every let substituted, an extent can share subexpressions so deeply that its tree, and
// the time to simplify it, grows exponentially with the number of lets.
bool tree_smaller_than(const Expr &e, int limit) {
    class Counter : public IRVisitor {
      public:
        int left;
        explicit Counter(int l) : left(l) {}

      protected:
        using IRVisitor::visit;
        void visit(const Add *op) override { step(op->a, op->b); }
        void visit(const Sub *op) override { step(op->a, op->b); }
        void visit(const Mul *op) override { step(op->a, op->b); }
        void visit(const Div *op) override { step(op->a, op->b); }
        void visit(const Mod *op) override { step(op->a, op->b); }
        void visit(const Min *op) override { step(op->a, op->b); }
        void visit(const Max *op) override { step(op->a, op->b); }
        void step(const Expr &a, const Expr &b) {
            if (--left < 0) return;
            a.accept(this);
            if (left >= 0) b.accept(this);
        }
    } counter(limit);
    e.accept(&counter);
    return counter.left >= 0;
}

constexpr int kMaxProofNodes = 20000;

int64_t round_up(int64_t x, int64_t m) {
    return (x + m - 1) / m * m;
}

// Pushes sums, differences, scalings by constants and divisions by positive constants into the
// arguments of min and max, simplifying what ends up outside any min or max, so that a loop's
// base cancels within each argument: max(min(40*i + 40, n), ...) - 40*i + 1 becomes
// max(min(41, n - 40*i + 1), ...), which Halide's interval analysis bounds by a constant where it
// could not bound the original. failed() when it would grow past 4096 nodes.
class MinMaxDistributor {
  public:
    Expr operator()(const Expr &e) { return push(e); }
    bool failed() const { return budget_ < 0; }

  private:
    int budget_ = 4096;

    static bool is_min_max(const Expr &e) { return e.as<Min>() || e.as<Max>(); }
    static Expr args_a(const Expr &e) { return e.as<Min>() ? e.as<Min>()->a : e.as<Max>()->a; }
    static Expr args_b(const Expr &e) { return e.as<Min>() ? e.as<Min>()->b : e.as<Max>()->b; }
    // min or max like `e` (flipped: the other one) of a and b.
    Expr like(const Expr &e, bool flipped, const Expr &a, const Expr &b) {
        budget_--;
        return (e.as<Min>() != nullptr) != flipped ? Min::make(a, b) : Max::make(a, b);
    }
    Expr push(const Expr &e) {
        if (--budget_ < 0) return e;
        if (const Add *op = e.as<Add>()) return add(push(op->a), push(op->b), false);
        if (const Sub *op = e.as<Sub>()) return add(push(op->a), push(op->b), true);
        if (const Mul *op = e.as<Mul>()) {
            if (const int64_t *k = as_const_int(op->b)) return scale(push(op->a), *k);
            if (const int64_t *k = as_const_int(op->a)) return scale(push(op->b), *k);
        }
        if (const Div *op = e.as<Div>()) {
            const int64_t *k = as_const_int(op->b);
            if (k && *k > 0) return divide(push(op->a), *k);
        }
        if (const Min *op = e.as<Min>()) return Min::make(push(op->a), push(op->b));
        if (const Max *op = e.as<Max>()) return Max::make(push(op->a), push(op->b));
        return e;
    }
    // x + y, or x - y.
    Expr add(const Expr &x, const Expr &y, bool subtract) {
        if (budget_ < 0) return subtract ? x - y : x + y;
        if (is_min_max(x)) return like(x, false, add(args_a(x), y, subtract), add(args_b(x), y, subtract));
        if (is_min_max(y)) return like(y, subtract, add(x, args_a(y), subtract), add(x, args_b(y), subtract));
        budget_--;
        return simplify(subtract ? x - y : x + y);
    }
    Expr scale(const Expr &x, int64_t k) {
        if (budget_ < 0) return x * Halide::cast(x.type(), Expr(k));
        if (is_min_max(x)) return like(x, k < 0, scale(args_a(x), k), scale(args_b(x), k));
        budget_--;
        return simplify(x * Halide::cast(x.type(), Expr(k)));
    }
    Expr divide(const Expr &x, int64_t k) { // k > 0: floor division keeps the order
        if (budget_ < 0) return x / Halide::cast(x.type(), Expr(k));
        if (is_min_max(x)) return like(x, false, divide(args_a(x), k), divide(args_b(x), k));
        budget_--;
        return simplify(x / Halide::cast(x.type(), Expr(k)));
    }
};

// The expression under casts and reinterprets: Halide wraps the handles of a parallel loop's
// call (its closure function, its closure struct) and of the struct's members in them.
Expr unwrapped(Expr e) {
    while (true) {
        if (const Cast *c = e.as<Cast>()) {
            e = c->value;
        } else if (const Call *c = e.as<Call>();
                   c && c->is_intrinsic(Call::reinterpret) && c->args.size() == 1) {
            e = c->args[0];
        } else {
            return e;
        }
    }
}

// The name of the variable under casts and reinterprets, without Halide's "::" for global
// symbols; empty where it is not a variable.
std::string variable_name(const Expr &e) {
    const Variable *v = unwrapped(e).as<Variable>();
    if (!v) return "";
    return v->name.rfind("::", 0) == 0 ? v->name.substr(2) : v->name;
}

// Walks lowered functions keeping, for every let and loop variable in scope, its constant
// bounds (as Halide's BoundSmallAllocations does) and its value with the lets around it
// substituted, to bound expressions inside it by constants.
//
// Halide lowers the body of a parallel loop into a function of its own (a closure), which
// receives the loop's index and loads every value it uses from the caller out of a struct. So
// that proofs see through those loads, the caller's call (halide_do_par_for) records what is
// known there (a ClosureSeed): the struct's members with the caller's lets substituted, the
// constant bounds of every name in the caller's scope, and the bounds of the loop's index. The
// closure is then visited with them (visit_module: callers before closures). The names a
// member's value refers to are the caller's loop variables and loaded values, which Halide
// names uniquely across the functions of a module.
class ProofScope : public IRVisitor {
  public:
    // Visits `f`'s body, with what its caller knew if `f` is a parallel loop's closure whose call
    // has been visited.
    void visit_function(const LoweredFunc &f) {
        auto seed = seeds_.find(f.name);
        seed_ = seed == seeds_.end() ? nullptr : &seed->second;
        std::vector<std::unique_ptr<ScopedBinding<Interval>>> bindings;
        if (seed_) {
            for (const auto &[name, interval] : seed_->scope)
                bindings.push_back(std::make_unique<ScopedBinding<Interval>>(scope_, name, interval));
            // (__user_context, the loop's index, the closure struct)
            if (f.args.size() == 3)
                bindings.push_back(
                    std::make_unique<ScopedBinding<Interval>>(scope_, f.args[1].name, seed_->task));
        }
        structs_.clear();
        f.body.accept(this);
        lets_.clear();
        seed_ = nullptr;
    }
    // The closure functions called by halide_do_par_for in `f`'s body.
    static std::vector<std::string> closures_called(const LoweredFunc &f) {
        class Finder : public IRVisitor {
          public:
            std::vector<std::string> names;

          private:
            using IRVisitor::visit;
            void visit(const Call *op) override {
                if (op->name == "halide_do_par_for" && !op->args.empty())
                    names.push_back(variable_name(op->args[0]));
                IRVisitor::visit(op);
            }
        } finder;
        f.body.accept(&finder);
        return finder.names;
    }

  protected:
    using IRVisitor::visit;
    Scope<Interval> scope_;
    std::map<std::string, Expr> lets_;

  private:
    struct ClosureSeed {
        std::vector<Expr> members; // none: nothing known
        std::vector<std::pair<std::string, Interval>> scope;
        Interval task = Interval::everything();
    };
    std::map<std::string, ClosureSeed> seeds_;         // by closure function
    std::map<std::string, std::vector<Expr>> structs_; // lets of this function bound to make_struct
    const ClosureSeed *seed_ = nullptr;                // of the function being visited

    // The caller's value of a closure's member (`value` loads it), or undefined.
    Expr member_value(const Expr &value) const {
        const Call *c = unwrapped(value).as<Call>();
        if (!seed_ || !c || !c->is_intrinsic(Call::load_typed_struct_member) || c->args.size() != 3)
            return Expr();
        const int64_t *k = as_const_int(c->args[2]);
        if (!k || *k < 0 || *k >= (int64_t)seed_->members.size()) return Expr();
        const Expr &m = seed_->members[*k];
        return m.defined() && m.type() == value.type() ? m : Expr();
    }

  protected:
    void visit(const Call *op) override {
        IRVisitor::visit(op);
        if (op->name != "halide_do_par_for" || op->args.size() != 4) return;
        auto members = structs_.find(variable_name(op->args[3]));
        if (members == structs_.end()) return;
        ClosureSeed seed;
        seed.members = members->second;
        for (auto it = scope_.cbegin(); it != scope_.cend(); ++it)
            if (!it.stack().empty()) seed.scope.emplace_back(it.name(), it.value());
        seed.task = Interval::make_union(find_constant_bounds(op->args[1], scope_),
                                         find_constant_bounds(op->args[1] + op->args[2] - 1, scope_));
        // A closure called from two places (Halide makes one per loop) gets what neither knew.
        const std::string closure = variable_name(op->args[0]);
        if (!seeds_.emplace(closure, std::move(seed)).second) seeds_[closure] = ClosureSeed{};
    }

    template <typename LetOrLetStmt> void visit_let(const LetOrLetStmt *op) {
        op->value.accept(this);
        const Expr member = member_value(op->value);
        const Expr &value = member.defined() ? member : op->value;
        if (const Call *c = unwrapped(value).as<Call>(); c && c->is_intrinsic(Call::make_struct)) {
            std::vector<Expr> &args = structs_[op->name];
            args.clear();
            for (const Expr &a : c->args)
                args.push_back(is_pure(a) ? substitute(lets_, a) : Expr());
        }
        ScopedBinding<Interval> bind(scope_, op->name, find_constant_bounds(value, scope_));
        auto old = lets_.find(op->name);
        std::optional<Expr> shadowed;
        if (old != lets_.end()) shadowed = old->second;
        // A value that loads (a buffer's element, a member of a closure not seen from its caller)
        // stays a name: the simplifier proves nothing through impure calls.
        lets_[op->name] =
            is_pure(value) ? substitute(lets_, value) : Variable::make(op->value.type(), op->name);
        op->body.accept(this);
        if (shadowed) {
            lets_[op->name] = *shadowed;
        } else {
            lets_.erase(op->name);
        }
    }
    void visit(const LetStmt *op) override { visit_let(op); }
    void visit(const Let *op) override { visit_let(op); }
    void visit(const For *op) override {
        op->min.accept(this);
        op->extent.accept(this);
        Interval b = Interval::make_union(find_constant_bounds(op->min, scope_),
                                          find_constant_bounds(op->min + op->extent - 1, scope_));
        ScopedBinding<Interval> bind(scope_, op->name, b);
        op->body.accept(this);
    }

    // What is known of an expression here, worked out once: `full`, the expression with every
    // let substituted (undefined when its tree is too large to simplify), and `upper`, the least
    // constant upper bound Halide's interval analysis finds, on the expression as it is and on
    // `full` with min and max distributed (MinMaxDistributor).
    struct Facts {
        Expr full;
        std::optional<int64_t> upper;
        // Whether the expression is <= `c` for every value of the variables in it.
        bool at_most(int64_t c) const {
            // (Halide's can_prove fails where simplify succeeds: it first lifts common
            // subexpressions into lets, which hides the min() the proof needs.)
            if (full.defined() && is_const_one(simplify(full <= Halide::cast(full.type(), Expr(c)))))
                return true;
            return upper && *upper <= c;
        }
    };
    Facts facts(const Expr &e) const {
        Facts f;
        auto consider = [&](const Expr &x) {
            Expr b = find_constant_bound(x, Direction::Upper, scope_);
            const int64_t *v = b.defined() ? as_const_int(b) : nullptr;
            if (v && (!f.upper || *v < *f.upper)) f.upper = *v;
        };
        consider(e);
        Expr full = substitute_in_all_lets(substitute(lets_, e));
        if (!tree_smaller_than(full, kMaxProofNodes)) return f;
        f.full = full;
        MinMaxDistributor distribute;
        Expr pushed = distribute(full);
        if (!distribute.failed()) consider(pushed);
        return f;
    }
};

// Visits the functions of `m` with `v`, each parallel loop's closure after the function that
// calls it (so that the closure sees what its caller knew).
void visit_module(const Halide::Module &m, ProofScope &v) {
    std::map<std::string, const LoweredFunc *> by_name;
    std::map<std::string, std::vector<std::string>> calls;
    std::set<std::string> called;
    for (const LoweredFunc &f : m.functions()) {
        by_name[f.name] = &f;
        calls[f.name] = ProofScope::closures_called(f);
        called.insert(calls[f.name].begin(), calls[f.name].end());
    }
    std::set<std::string> visited;
    std::function<void(const LoweredFunc &)> visit = [&](const LoweredFunc &f) {
        if (!visited.insert(f.name).second) return;
        v.visit_function(f);
        for (const std::string &c : calls[f.name]) {
            auto callee = by_name.find(c);
            if (callee != by_name.end()) visit(*callee->second);
        }
    };
    for (const LoweredFunc &f : m.functions())
        if (!called.count(f.name)) visit(f);
    for (const LoweredFunc &f : m.functions()) // closures whose caller was not found
        visit(f);
}

// Bounds the extents of the varying-sized allocations of the Funcs in `hints` (by name: the
// extents the Featurizer assumed, or none).
class AllocationBounder : public ProofScope {
  public:
    AllocationBounder(const std::map<std::string, std::vector<int64_t>> &hints) : hints_(hints) {}
    std::map<std::string, Bounds> bounds;

  private:
    using ProofScope::visit;
    const std::map<std::string, std::vector<int64_t>> &hints_;

    void visit(const Allocate *op) override {
        auto hint = hints_.find(op->name);
        // A constant-sized allocation (Halide flattens some to one extent) needs no bound: the
        // checks of the bounded schedule are proven afterwards (StorageCheckVerifier).
        if (hint != hints_.end() && !has_constant_extents(op)) {
            Bounds &b = bounds[op->name];
            if (b.extents.empty()) b.extents.assign(op->extents.size(), 0);
            if (b.extents.size() != op->extents.size() || op->new_expr.defined()) b.bounded = false;
            for (size_t i = 0; b.bounded && i < op->extents.size(); i++) {
                // First the extent the cost model assumed (the Featurizer's region), or that
                // extent rounded up to whole vectors (a guarded tail computes its last vector
                // whole), if proven an upper bound; else the least constant bound found.
                const int64_t h = i < hint->second.size() ? hint->second[i] : 0;
                const Facts extent = facts(op->extents[i]);
                int64_t bound = 0;
                for (int64_t candidate :
                     {h, round_up(h, 8), round_up(h, 16), round_up(h, 32), round_up(h, 64)}) {
                    if (candidate > 0 && extent.at_most(candidate)) {
                        bound = candidate;
                        break;
                    }
                }
                if (bound == 0) bound = extent.upper.value_or(0);
                if (bound < 1) {
                    b.bounded = false;
                } else {
                    b.extents[i] = std::max(b.extents[i], bound);
                }
            }
        }
        IRVisitor::visit(op);
    }
};

// The Funcs whose storage-bound check (the assertion Halide adds for `bound_storage`) could not
// be proven to hold: with their bounds, the pipeline might fail at run time.
class StorageCheckVerifier : public ProofScope {
  public:
    std::set<std::string> unproven;

  private:
    using ProofScope::visit;
    void visit(const AssertStmt *op) override {
        const Call *c = op->message.as<Call>();
        if (c && c->name == "halide_error_storage_bound_too_small" && !c->args.empty()) {
            const StringImm *func = c->args[0].as<StringImm>();
            if (!func || !holds(op->condition)) unproven.insert(func ? func->value : std::string("?"));
        }
        IRVisitor::visit(op);
    }
    bool holds(const Expr &cond) const {
        if (is_const_one(cond)) return true;
        if (const Variable *v = cond.as<Variable>()) { // a let Halide lifted the condition into
            auto value = lets_.find(v->name);
            if (value == lets_.end()) return false;
            const Variable *same = value->second.as<Variable>(); // an impure value, kept as its name
            return !(same && same->name == v->name) && holds(value->second);
        }
        if (const And *op = cond.as<And>()) return holds(op->a) && holds(op->b);
        if (const LE *op = cond.as<LE>()) return facts(op->a - op->b).at_most(0);
        if (const LT *op = cond.as<LT>()) return facts(op->a - op->b).at_most(-1);
        if (const GE *op = cond.as<GE>()) return facts(op->b - op->a).at_most(0);
        if (const GT *op = cond.as<GT>()) return facts(op->b - op->a).at_most(-1);
        return false;
    }
};

} // namespace

StorageHints storage_hints(const ScheduleState &s) {
    StorageHints out;
    Featurizer fz(s, MachineInfo{}); // regions only: the machine does not enter them
    const PipelineGraph &g = s.graph();
    for (int node = 0; node < g.num_nodes(); node++) {
        const Node &n = g.node(node);
        if (n.is_input || s.choice(node).placement != Placement::At) continue;
        const Realization &r = fz.realization(node);
        std::vector<int64_t> &extents = out[node];
        if (!std::all_of(r.fixed.begin(), r.fixed.end(), [](char x) { return x; })) continue;
        for (const Span &sp : r.region)
            extents.push_back(sp.extent());
    }
    return out;
}

std::vector<Directive> storage_bound_directives(const PipelineGraph &g, const Halide::Pipeline &p,
                                                const Halide::Target &t,
                                                const std::vector<Directive> &applied,
                                                const StorageHints &hints, bool *lowered) {
    if (lowered) *lowered = false;
    // Candidates: Funcs computed inside a loop whose storage is not hoisted out of it (store_at
    // slides a window: its buffer is folded or spans the outer loop), and that have no bounds of
    // their own yet.
    std::map<std::string, int> node_of;
    std::set<int> excluded;
    for (const Directive &d : applied) {
        if (d.op == Directive::ComputeAt) node_of[g.node(d.node).name] = d.node;
        if (d.op == Directive::StoreAt || d.op == Directive::BoundStorage) excluded.insert(d.node);
    }
    std::map<std::string, std::vector<int64_t>> hint_of; // by Func name, for every candidate
    for (const auto &[name, node] : node_of) {
        if (excluded.count(node)) continue;
        auto h = hints.find(node);
        hint_of[name] = h == hints.end() ? std::vector<int64_t>() : h->second;
    }
    if (hint_of.empty()) return {};

    Halide::Pipeline pipeline = p;
    const Halide::Module m = pipeline.compile_to_module(pipeline.infer_arguments(), "harl_storage_bounds", t);
    if (lowered) *lowered = true;
    AllocationBounder bounder(hint_of);
    visit_module(m, bounder);
    std::vector<Directive> out;
    for (const auto &[name, b] : bounder.bounds) { // the candidates with a varying-sized allocation
        const int node = node_of.at(name);
        const Node &n = g.node(node);
        if (!b.bounded || b.extents.size() != n.args.size()) continue;
        double bytes = n.func.output_types().at(0).bytes();
        for (int64_t e : b.extents)
            bytes *= (double)e;
        if (bytes > kHalideStackBytes) continue;
        for (size_t i = 0; i < b.extents.size(); i++) {
            Directive d(Directive::BoundStorage, {n.args[i]}, b.extents[i]);
            d.node = node;
            out.push_back(d);
        }
    }
    return out;
}

StorageBoundsResult storage_bound_directives_in_child(const PipelineGraph &g, const Halide::Pipeline &p,
                                                      const Halide::Target &t,
                                                      const std::vector<Directive> &ds,
                                                      const StorageHints &hints, double timeout_s) {
    const TempFile file("harl-storage-bounds");
    if (!file.ok()) return {}; // no temporary file: the schedule stays as emitted
    const std::string &path = file.path();
    MeasureOptions mo;
    mo.min_runs = mo.max_runs = 1;
    mo.target_seconds = 0;
    mo.timeout_seconds = timeout_s;
    const MeasureResult r = measure_in_child(
        [&] {
            // The child's copy of the Funcs, parallel loops included. Without them the proofs
            // would see more (Halide lowers a parallel loop's body into a closure whose lets are
            // loads from a struct), but the regions Halide computes can differ: in random
            // pipeline 184 a Func needed 15 points per tile where the serial lowering had 8.
            apply_directives(g, ds);
            bool lowered = false;
            const std::vector<Directive> bounds = storage_bound_directives(g, p, t, ds, hints, &lowered);
            std::ofstream out(path);
            out << "lowered " << lowered << "\n" << std::flush; // before the bounded schedule's lowering
            if (bounds.empty()) return;
            // Lowered again with the bounds: every check Halide adds for them must be proven
            // to hold, or the Func keeps its heap buffer. (A bound proven for one allocation of
            // a Func can be exceeded by another, constant-sized one; Halide reports that only
            // when the pipeline runs. A lowering error fails the child: no bounds at all.)
            apply_directives(g, bounds);
            Halide::Pipeline pipeline = p;
            const Halide::Module m =
                pipeline.compile_to_module(pipeline.infer_arguments(), "harl_storage_bounds_check", t);
            StorageCheckVerifier verify;
            visit_module(m, verify);
            for (const Directive &d : bounds)
                if (!verify.unproven.count(g.node(d.node).name) && !verify.unproven.count("?"))
                    out << d.node << " " << d.vars.at(0) << " " << d.factor << "\n";
        },
        [] {}, mo);
    StorageBoundsResult out;
    std::ifstream in(path);
    std::string word;
    int lowered = 0;
    if (r.ok() && in >> word >> lowered && word == "lowered") {
        out.lowered = lowered != 0;
        int node;
        std::string var;
        int64_t bound;
        while (in >> node >> var >> bound) {
            HARL_ASSERT(node >= 0 && node < g.num_nodes(), "storage bound for node " << node);
            Directive d(Directive::BoundStorage, {var}, bound);
            d.node = node;
            out.bounds.push_back(d);
        }
    }
    return out;
}

void apply_directives_and_storage_bounds(const PipelineGraph &g, const Halide::Pipeline &p,
                                         const Halide::Target &t, const ScheduleState &s,
                                         std::vector<Directive> *ds, double timeout_s) {
    const std::vector<Directive> bounds =
        storage_bound_directives_in_child(g, p, t, *ds, storage_hints(s), timeout_s).bounds;
    ds->insert(ds->end(), bounds.begin(), bounds.end());
    apply_directives(g, *ds);
}

} // namespace harl
