#include "PolicyNet.h"
#include "../autoscheduler/Errors.h"
#include "ByteReader.h"
#include "Hash.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace harl {
namespace {

const char kPolicyMagic[8] = {'H', 'A', 'R', 'L', 'P', 'O', 'L', '1'};
const int kNetInputs[NumPolicyNets] = {kStageInputs, kKindInputs, kValueInputs, kCriticInputs};

size_t mlp_size(int in, int h) {
    return (size_t)h * in + h + h + 1;
}

} // namespace

const char *policy_net_name(int id) {
    static const char *names[] = {"stage", "kind", "value", "critic"};
    HARL_ASSERT(id >= 0 && id < NumPolicyNets, "no policy net " << id);
    return names[id];
}

Mlp::Mlp(int inputs, int hidden, uint64_t seed)
    : in_(inputs), h_(hidden), p_(mlp_size(inputs, hidden), 0.0f) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f / std::sqrt((float)inputs));
    for (int i = 0; i < h_ * in_; i++)
        p_[i] = d(rng);
    // w2 small: initial scores near zero, so an untrained policy samples nearly uniformly.
    std::normal_distribution<float> d2(0.0f, 0.1f / std::sqrt((float)hidden));
    for (int j = 0; j < h_; j++)
        p_[(size_t)h_ * in_ + h_ + j] = d2(rng);
}

std::vector<double> Mlp::forward(const std::vector<float> &x, int rows) const {
    HARL_ASSERT((int)x.size() == rows * in_,
                "policy net: " << x.size() << " inputs for " << rows << " rows of " << in_);
    const float *W1 = p_.data(), *b1 = W1 + (size_t)h_ * in_, *w2 = b1 + h_, *b2 = w2 + h_;
    std::vector<double> out(rows);
    for (int r = 0; r < rows; r++) {
        const float *xr = x.data() + (size_t)r * in_;
        double o = b2[0];
        for (int j = 0; j < h_; j++) {
            double a = b1[j];
            for (int i = 0; i < in_; i++)
                a += (double)W1[(size_t)j * in_ + i] * xr[i];
            o += w2[j] * std::tanh(a);
        }
        out[r] = o;
    }
    return out;
}

void Mlp::backward(const std::vector<float> &x, int rows, const std::vector<double> &dout) {
    HARL_ASSERT((int)dout.size() == rows && (int)x.size() == rows * in_,
                "policy net: gradient shape mismatch");
    if (g_.empty()) g_.assign(p_.size(), 0.0);
    const float *W1 = p_.data(), *b1 = W1 + (size_t)h_ * in_, *w2 = b1 + h_;
    double *gW1 = g_.data(), *gb1 = gW1 + (size_t)h_ * in_, *gw2 = gb1 + h_, *gb2 = gw2 + h_;
    for (int r = 0; r < rows; r++) {
        if (dout[r] == 0) continue;
        const float *xr = x.data() + (size_t)r * in_;
        gb2[0] += dout[r];
        for (int j = 0; j < h_; j++) {
            double a = b1[j];
            for (int i = 0; i < in_; i++)
                a += (double)W1[(size_t)j * in_ + i] * xr[i];
            double t = std::tanh(a);
            gw2[j] += dout[r] * t;
            double da = dout[r] * w2[j] * (1 - t * t);
            gb1[j] += da;
            for (int i = 0; i < in_; i++)
                gW1[(size_t)j * in_ + i] += da * xr[i];
        }
    }
}

void Mlp::step(double lr, double clip) {
    if (g_.empty()) return;
    double norm = 0;
    for (double g : g_)
        norm += g * g;
    norm = std::sqrt(norm);
    const double s = norm > clip ? clip / norm : 1.0;
    if (m_.empty()) {
        m_.assign(p_.size(), 0.0);
        v_.assign(p_.size(), 0.0);
    }
    t_++;
    const double b1 = 0.9, b2 = 0.999, c1 = 1 - std::pow(b1, t_), c2 = 1 - std::pow(b2, t_);
    for (size_t i = 0; i < p_.size(); i++) {
        double g = g_[i] * s;
        m_[i] = b1 * m_[i] + (1 - b1) * g;
        v_[i] = b2 * v_[i] + (1 - b2) * g * g;
        p_[i] -= (float)(lr * (m_[i] / c1) / (std::sqrt(v_[i] / c2) + 1e-8));
    }
    std::fill(g_.begin(), g_.end(), 0.0);
}

PolicyWeights PolicyWeights::initial(uint64_t seed) {
    PolicyWeights w;
    for (int k = 0; k < NumPolicyNets; k++)
        w.nets[k] = Mlp(kNetInputs[k], kPolicyHidden, seed * 7919 + k);
    return w;
}

std::vector<double> softmax(const std::vector<double> &scores, double temperature) {
    HARL_ASSERT(!scores.empty(), "softmax over nothing");
    HARL_ASSERT(temperature > 0, "softmax temperature " << temperature);
    double mx = *std::max_element(scores.begin(), scores.end());
    std::vector<double> p(scores.size());
    double sum = 0;
    for (size_t i = 0; i < p.size(); i++)
        sum += (p[i] = std::exp((scores[i] - mx) / temperature));
    for (double &v : p)
        v /= sum;
    return p;
}

void save_policy(const std::string &path, const PolicyWeights &w) {
    std::string payload;
    for (const Mlp &n : w.nets)
        payload.append((const char *)n.params().data(), n.num_params() * sizeof(float));
    std::ostringstream os;
    auto put = [&](const void *p, size_t n) { os.write((const char *)p, (std::streamsize)n); };
    put(kPolicyMagic, 8);
    uint32_t hdr[2] = {kPolicyFormatVersion, kPolicyLayoutVersion};
    put(hdr, sizeof(hdr));
    for (const Mlp &n : w.nets) {
        uint32_t shape[2] = {(uint32_t)n.inputs(), (uint32_t)n.hidden()};
        put(shape, sizeof(shape));
    }
    uint64_t floats = payload.size() / sizeof(float), sum = fnv1a(payload.data(), payload.size());
    uint32_t meta = (uint32_t)w.metadata.size();
    put(&floats, 8);
    put(&sum, 8);
    put(&meta, 4);
    put(w.metadata.data(), meta);
    put(payload.data(), payload.size());
    std::ofstream out(path, std::ios::binary);
    out << os.str();
    if (!out) throw HarlError("cannot write policy file '" + path + "'");
}

PolicyWeights load_policy(const std::string &path) {
    return parse_policy(
        read_file_bytes(path, "policy file", "check HARL_POLICY, or unset it to use the shipped policy"),
        "policy file '" + path + "'");
}

PolicyWeights parse_policy(const std::string &bytes, const std::string &source) {
    ByteReader in(bytes, [&](const std::string &why) {
        return HarlError(source + ": " + why +
                         " (retrain with harl-train-policy, or unset HARL_POLICY to use the shipped policy)");
    });
    auto fail = [&](const std::string &why) { return in.fail(why); };
    auto take = [&](void *dst, size_t n, const char *what) { in.take(dst, n, what); };
    char magic[8];
    take(magic, 8, "header");
    if (std::memcmp(magic, kPolicyMagic, 8) != 0) throw fail("not a HARL policy file (bad magic)");
    uint32_t hdr[2];
    take(hdr, sizeof(hdr), "header");
    if (hdr[0] != kPolicyFormatVersion) {
        throw fail("format version " + std::to_string(hdr[0]) + ", this HARL reads version " +
                   std::to_string(kPolicyFormatVersion));
    }
    if (hdr[1] != kPolicyLayoutVersion) {
        throw fail("trained for policy feature layout " + std::to_string(hdr[1]) +
                   ", this HARL computes layout " + std::to_string(kPolicyLayoutVersion));
    }
    PolicyWeights w;
    size_t expect = 0;
    for (int k = 0; k < NumPolicyNets; k++) {
        uint32_t shape[2];
        take(shape, sizeof(shape), "header");
        if ((int)shape[0] != kNetInputs[k]) {
            throw fail(std::string("its ") + policy_net_name(k) + " network has " + std::to_string(shape[0]) +
                       " inputs, this HARL has " + std::to_string(kNetInputs[k]));
        }
        if (shape[1] == 0 || shape[1] > 1024) throw fail("implausible hidden size");
        w.nets[k] = Mlp((int)shape[0], (int)shape[1], 0);
        expect += w.nets[k].num_params();
    }
    uint64_t floats, sum;
    uint32_t meta;
    take(&floats, 8, "header");
    take(&sum, 8, "header");
    take(&meta, 4, "header");
    if (meta > (1u << 20)) throw fail("corrupt header (metadata length)");
    w.metadata.resize(meta);
    take(w.metadata.data(), meta, "metadata");
    if (floats != expect) {
        throw fail("payload of " + std::to_string(floats) + " floats does not match its network sizes (" +
                   std::to_string(expect) + ")");
    }
    if (in.remaining() != floats * sizeof(float)) {
        throw fail(in.remaining() < floats * sizeof(float) ? "truncated payload"
                                                           : "trailing bytes after the payload");
    }
    if (fnv1a(in.here(), floats * sizeof(float)) != sum) throw fail("corrupt: payload checksum mismatch");
    for (Mlp &n : w.nets) {
        take(n.params().data(), n.num_params() * sizeof(float), "payload");
        for (float v : n.params()) {
            if (!std::isfinite(v)) throw fail("corrupt: non-finite weight");
        }
    }
    return w;
}

} // namespace harl

namespace harl {

void policy_gradient_step(PolicyWeights &w, const std::vector<PolicyDecision> &decisions,
                          const std::vector<CriticSample> &critic, double lr, double entropy_weight) {
    if (decisions.empty() && critic.empty()) return;
    const double inv = 1.0 / std::max<size_t>(1, decisions.size());
    for (const PolicyDecision &d : decisions) {
        Mlp &net = w.nets[d.net];
        std::vector<double> z = net.forward(d.rows, d.num_rows);
        std::vector<double> p = softmax(z, d.temperature);
        double h = 0; // entropy
        for (double pi : p)
            h -= pi > 0 ? pi * std::log(pi) : 0;
        std::vector<double> dz(z.size());
        for (size_t i = 0; i < z.size(); i++) {
            double dlogp = ((int)i == d.chosen ? 1.0 : 0.0) - p[i];
            // d(-H)/dz_i = p_i (log p_i + H) / T
            double dneg_h = p[i] > 0 ? p[i] * (std::log(p[i]) + h) : 0;
            dz[i] = inv * (-d.advantage * dlogp + entropy_weight * dneg_h) / d.temperature;
        }
        net.backward(d.rows, d.num_rows, dz);
    }
    for (const CriticSample &c : critic) {
        std::vector<double> v = w.nets[CriticNet].forward(c.row, 1);
        w.nets[CriticNet].backward(c.row, 1, {(v[0] - c.target) / std::max<size_t>(1, critic.size())});
    }
    for (Mlp &n : w.nets)
        n.step(lr);
}

} // namespace harl
