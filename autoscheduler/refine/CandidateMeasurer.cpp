#include "CandidateMeasurer.h"
#include "../Errors.h"
#include "../HostTarget.h"
#include "../ScheduleEmitter.h"
#include "../StorageBounds.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace harl {
namespace {

using namespace Halide::Internal;

// Every Parameter (buffer or scalar) that the Funcs' definitions read.
class ParamFinder : public IRVisitor {
  public:
    std::map<std::string, Parameter> params;

  private:
    using IRVisitor::visit;
    void visit(const Call *op) override {
        if (op->param.defined()) params.emplace(op->param.name(), op->param);
        IRVisitor::visit(op);
    }
    void visit(const Variable *op) override {
        if (op->param.defined()) params.emplace(op->param.name(), op->param);
    }
};

halide_scalar_value_t scalar_of(const Parameter &p) {
    Halide::Expr e = p.estimate();
    if (!e.defined()) {
        throw HarlError("Param " + p.name() +
                        " has no estimate: give it one (set_estimate) so HARL can run candidates");
    }
    e = simplify(cast(p.type(), e));
    halide_scalar_value_t v{};
    const Halide::Type t = p.type();
    const int64_t *i = as_const_int(e);
    const uint64_t *u = as_const_uint(e);
    const double *f = as_const_float(e);
    if (t.is_float() && f) {
        if (t.bits() == 64)
            v.u.f64 = *f;
        else
            v.u.f32 = (float)*f;
    } else if (t.is_bool() && u) {
        v.u.b = *u != 0;
    } else if (t.is_int() && i) {
        if (t.bits() == 8)
            v.u.i8 = (int8_t)*i;
        else if (t.bits() == 16)
            v.u.i16 = (int16_t)*i;
        else if (t.bits() == 32)
            v.u.i32 = (int32_t)*i;
        else
            v.u.i64 = *i;
    } else if (t.is_uint() && u) {
        if (t.bits() == 8)
            v.u.u8 = (uint8_t)*u;
        else if (t.bits() == 16)
            v.u.u16 = (uint16_t)*u;
        else if (t.bits() == 32)
            v.u.u32 = (uint32_t)*u;
        else
            v.u.u64 = *u;
    } else {
        throw HarlError("Param " + p.name() + ": its estimate is not a constant of its type");
    }
    return v;
}

void fill(Halide::Buffer<> &b) {
    const Halide::Type t = b.type();
    const size_t n = b.number_of_elements();
    uint8_t *d = (uint8_t *)b.data();
    for (size_t k = 0; k < n; k++) {
        const uint32_t h = (uint32_t)(k * 2654435761u) >> 8;
        if (t.is_float() && t.bits() == 32)
            ((float *)d)[k] = (float)(h % 1000) / 1000.0f;
        else if (t.is_float() && t.bits() == 64)
            ((double *)d)[k] = (double)(h % 1000) / 1000.0;
        else if (t.bits() == 8)
            d[k] = (uint8_t)(h % 16);
        else if (t.bits() == 16)
            ((uint16_t *)d)[k] = (uint16_t)(h % 16);
        else if (t.bits() == 32)
            ((uint32_t *)d)[k] = h % 16;
        else if (t.bits() == 64)
            ((uint64_t *)d)[k] = h % 16;
        else if (t.bits() == 1)
            d[k] = h & 1;
    }
}

} // namespace

void bind_inputs_from_estimates(const PipelineGraph &g) {
    ParamFinder finder;
    for (const Node &n : g.nodes()) {
        if (!n.is_input) n.func.accept(&finder);
    }
    for (auto &kv : finder.params) {
        Parameter p = kv.second;
        if (!p.is_buffer()) {
            p.set_scalar(p.type(), scalar_of(p));
            continue;
        }
        std::vector<int> mins, extents;
        for (int d = 0; d < p.dimensions(); d++) {
            Halide::Expr mn = p.min_constraint_estimate(d), ex = p.extent_constraint_estimate(d);
            const int64_t *mi = mn.defined() ? as_const_int(simplify(mn)) : nullptr;
            const int64_t *ei = ex.defined() ? as_const_int(simplify(ex)) : nullptr;
            if (!ei) {
                throw HarlError(
                    "input " + p.name() + " dimension " + std::to_string(d) +
                    " has no constant extent estimate: set_estimates() on it so HARL can run candidates");
            }
            mins.push_back(mi ? (int)*mi : 0);
            extents.push_back((int)*ei);
        }
        Halide::Buffer<> b(p.type(), extents);
        b.set_min(mins);
        fill(b);
        p.set_buffer(b);
    }
}

Halide::Realization make_output_buffers(const PipelineGraph &g, const Halide::Pipeline &p) {
    std::vector<Halide::Buffer<>> bufs;
    for (const Halide::Func &f : p.outputs()) {
        const Node *node = nullptr;
        for (const Node &n : g.nodes()) {
            if (!n.is_input && n.func.name() == f.name()) node = &n;
        }
        HARL_ASSERT(node, "output " << f.name() << " is not in the pipeline graph");
        std::vector<int> mins, extents;
        for (const Span &s : node->root) {
            mins.push_back((int)s.min);
            extents.push_back((int)std::max<int64_t>(1, s.extent()));
        }
        for (const Halide::Type &t : f.output_types()) {
            Halide::Buffer<> b(t, extents);
            b.set_min(mins);
            bufs.push_back(b);
        }
    }
    return Halide::Realization(bufs);
}

namespace {

std::string output_bytes(const Halide::Realization &r) {
    std::string bytes;
    for (size_t i = 0; i < r.size(); i++) {
        Halide::Buffer<> b = r[i];
        b.copy_to_host();
        bytes.append((const char *)b.data(), b.size_in_bytes());
    }
    return bytes;
}

bool close_enough(const Halide::Type &t, const char *a, const char *b) {
    if (t.is_float() && t.bits() == 32) {
        float x, y;
        std::memcpy(&x, a, 4);
        std::memcpy(&y, b, 4);
        return (std::isnan(x) && std::isnan(y)) || std::fabs(x - y) <= 1e-3f * std::max(1.0f, std::fabs(y));
    }
    if (t.is_float() && t.bits() == 64) {
        double x, y;
        std::memcpy(&x, a, 8);
        std::memcpy(&y, b, 8);
        return (std::isnan(x) && std::isnan(y)) || std::fabs(x - y) <= 1e-3 * std::max(1.0, std::fabs(y));
    }
    return std::memcmp(a, b, t.bytes()) == 0;
}

// Empty when `got` matches `want` (outputs of the same types and sizes), else where it does not.
std::string compare_outputs(const Halide::Realization &r, const std::string &got, const std::string &want) {
    if (got.size() != want.size()) return "wrong output: its size differs from the first schedule's";
    size_t off = 0;
    for (size_t i = 0; i < r.size(); i++) {
        const Halide::Type t = r[i].type();
        for (size_t k = 0; k < (size_t)r[i].number_of_elements(); k++, off += t.bytes()) {
            if (!close_enough(t, got.data() + off, want.data() + off)) {
                return "wrong output: output " + std::to_string(i) + " element " + std::to_string(k) +
                       " differs from the first (beam-search) schedule's";
            }
        }
    }
    return "";
}

} // namespace

CandidateMeasurer::CandidateMeasurer(const PipelineGraph &g, const Halide::Pipeline &p,
                                     const Halide::Target &t, const MeasureOptions &opts)
    : g_(g), p_(p), target_(runnable_here(t)), opts_(opts) {
    if (!reference_.ok())
        throw HarlError("HARL_MEASURE: cannot create a temporary file in /tmp for reference outputs");
}

MeasureResult CandidateMeasurer::measure(const ScheduleState &s) {
    HARL_ASSERT(s.complete(), "measuring an incomplete schedule");
    count_++;
    std::vector<Directive> ds = make_directives(s);
    std::unique_ptr<Halide::Realization> out;
    return measure_in_child(
        [&] {
            apply_directives_and_storage_bounds(g_, p_, target_, s, &ds);
            bind_inputs_from_estimates(g_);
            out = std::make_unique<Halide::Realization>(make_output_buffers(g_, p_));
            p_.compile_jit(target_);
            p_.realize(*out, target_);
            const std::string got = output_bytes(*out);
            if (count_ == 1) {
                std::ofstream(reference_.path(), std::ios::binary) << got;
            } else {
                std::ifstream in(reference_.path(), std::ios::binary);
                std::stringstream want;
                want << in.rdbuf();
                std::string diff = compare_outputs(*out, got, want.str());
                if (!diff.empty()) throw std::runtime_error(diff);
            }
        },
        [&] { p_.realize(*out, target_); }, opts_);
}

} // namespace harl
