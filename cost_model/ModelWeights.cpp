#include "ModelWeights.h"
#include "../autoscheduler/Errors.h"
#include "ByteReader.h"
#include "CostModel.h"
#include "GpuFeatureLayout.h"
#include "Hash.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace harl {
namespace {

const char kMagic[8] = {'H', 'A', 'R', 'L', 'W', 'T', 'S', '1'};

std::vector<std::vector<float> *> tensors(ModelWeights &w) {
    return {&w.mean, &w.scale, &w.w1, &w.b1, &w.w2, &w.b2, &w.w3, &w.b3};
}

std::vector<size_t> tensor_sizes(const ModelWeights &w) {
    size_t in = (size_t)w.inputs, h1 = (size_t)w.hidden1, h2 = (size_t)w.hidden2, m = (size_t)w.members,
           o = (size_t)w.outputs;
    return {in, in, m * h1 * in, m * h1, m * h2 * h1, m * h2, m * o * h2, m * o};
}

} // namespace

size_t ModelWeights::payload_floats() const {
    size_t n = 0;
    for (size_t s : tensor_sizes(*this))
        n += s;
    return n;
}

void ModelWeights::allocate() {
    auto sizes = tensor_sizes(*this);
    auto ts = tensors(*this);
    for (size_t i = 0; i < ts.size(); i++)
        ts[i]->assign(sizes[i], 0.0f);
    scale.assign(sizes[1], 1.0f);
}

ModelWeights ModelWeights::member(int k) const {
    HARL_ASSERT(k >= 0 && k < members, "member " << k << " of an ensemble of " << members);
    ModelWeights w = *this;
    w.members = 1;
    w.pessimism = 0;
    auto full = tensors(const_cast<ModelWeights &>(*this));
    auto one = tensors(w);
    auto sizes = tensor_sizes(w);
    for (size_t i = 2; i < one.size(); i++) // W1..b3; mean and scale are shared
        one[i]->assign(full[i]->begin() + (long)(k * sizes[i]),
                       full[i]->begin() + (long)((k + 1) * sizes[i]));
    return w;
}

namespace {

// What keeps two weights from being members of one ensemble (nullptr: nothing): they must be
// networks of one layout and shape, with the same correction bounds and input normalisation.
const char *ensemble_mismatch(const ModelWeights &a, const ModelWeights &b) {
    if (b.layout_version != a.layout_version) return "feature layout";
    if (b.inputs != a.inputs || b.hidden1 != a.hidden1 || b.hidden2 != a.hidden2 || b.outputs != a.outputs)
        return "network shape";
    if (b.max_correction != a.max_correction || b.max_discount != a.max_discount)
        return "correction bound (--max-correction, --max-discount)";
    if (b.mean != a.mean || b.scale != a.scale) return "input normalisation";
    return nullptr;
}

} // namespace

ModelWeights merge_ensembles(const std::vector<ModelWeights> &ensembles,
                             const std::vector<std::string> &names) {
    if (ensembles.empty()) throw HarlError("no weights files to merge");
    HARL_ASSERT(names.size() == ensembles.size(), "one name per weights file");
    const ModelWeights &a = ensembles[0];
    std::vector<ModelWeights> members;
    for (size_t i = 0; i < ensembles.size(); i++) {
        const ModelWeights &b = ensembles[i];
        const char *differs = ensemble_mismatch(a, b);
        if (!differs && b.pessimism != a.pessimism) differs = "pessimism";
        if (differs) {
            throw HarlError(
                "cannot merge '" + names[i] + "' with '" + names[0] + "': the " + differs +
                " is not the same; merge only weights trained alike (same options) on the same data");
        }
        for (int k = 0; k < b.members; k++)
            members.push_back(b.member(k));
    }
    if (members.size() > 64) throw HarlError("a merged ensemble may hold at most 64 members");
    ModelWeights w = ModelWeights::ensemble(members, a.pessimism);
    w.metadata = a.metadata;
    for (size_t i = 1; i < ensembles.size(); i++)
        w.metadata += "\nmerged with " + names[i] + ": " + ensembles[i].metadata;
    return w;
}

ModelWeights ModelWeights::ensemble(const std::vector<ModelWeights> &members, float pessimism) {
    HARL_ASSERT(!members.empty(), "an ensemble needs members");
    ModelWeights w = members[0];
    w.members = (int)members.size();
    w.pessimism = pessimism;
    auto all = tensors(w);
    for (size_t i = 2; i < all.size(); i++)
        all[i]->clear();
    for (const ModelWeights &m : members) {
        const char *differs = ensemble_mismatch(w, m);
        HARL_ASSERT(m.members == 1 && !differs, "ensemble members must be single networks alike: "
                                                    << (differs ? std::string(differs) + " differs"
                                                                : std::string("a member is an ensemble")));
        auto one = tensors(const_cast<ModelWeights &>(m));
        for (size_t i = 2; i < all.size(); i++)
            all[i]->insert(all[i]->end(), one[i]->begin(), one[i]->end());
    }
    return w;
}

ModelWeights load_weights(const std::string &path) {
    return parse_weights(
        read_file_bytes(path, "weights file", "check HARL_WEIGHTS, or unset it to use the shipped weights"),
        "weights file '" + path + "'");
}

ModelWeights parse_weights(const std::string &bytes, const std::string &source) {
    ByteReader in(bytes, [&](const std::string &why) {
        return HarlError(source + ": " + why +
                         " (retrain with harl-train, or unset HARL_WEIGHTS to use the shipped weights)");
    });
    auto fail = [&](const std::string &why) { return in.fail(why); };
    auto take = [&](void *dst, size_t n, const char *what) { in.take(dst, n, what); };
    char magic[8];
    take(magic, 8, "header");
    if (std::memcmp(magic, kMagic, 8) != 0) throw fail("not a HARL weights file (bad magic)");
    uint32_t fmt, layout, inputs, h1, h2, meta_len;
    uint64_t floats, checksum;
    take(&fmt, 4, "header");
    if (fmt < 1 || fmt > kWeightsFormatVersion) {
        throw fail("format version " + std::to_string(fmt) + ", this HARL reads version " +
                   std::to_string(kWeightsFormatVersion));
    }
    take(&layout, 4, "header");
    take(&inputs, 4, "header");
    take(&h1, 4, "header");
    take(&h2, 4, "header");
    float max_correction = kVersion1MaxCorrection;
    if (fmt >= 2) take(&max_correction, 4, "header");
    if (!(max_correction > 0 && max_correction <= 20)) throw fail("corrupt header (max_correction)");
    float max_discount = max_correction;
    if (fmt >= 3) take(&max_discount, 4, "header");
    if (!(max_discount > 0 && max_discount <= 20)) throw fail("corrupt header (max_discount)");
    uint32_t members = 1;
    float pessimism = 0;
    if (fmt >= 4) {
        take(&members, 4, "header");
        take(&pessimism, 4, "header");
    }
    uint32_t outputs = 1;
    if (fmt >= 5) take(&outputs, 4, "header");
    if (members < 1 || members > 64) throw fail("corrupt header (members)");
    if (outputs != 1 && outputs != (uint32_t)kTermOutputs) throw fail("corrupt header (outputs)");
    if (!(std::fabs(pessimism) <= 10)) throw fail("corrupt header (pessimism)");
    take(&floats, 8, "header");
    take(&checksum, 8, "header");
    take(&meta_len, 4, "header");
    const int features = num_features_of_layout(layout);
    if (features == 0) {
        throw fail("trained for feature layout version " + std::to_string(layout) +
                   ", this HARL computes version " + std::to_string(kFeatureLayoutVersion) +
                   " (CPU; it also reads weights of the older CPU versions 1-" +
                   std::to_string(kFeatureLayoutVersion - 1) + ") and " +
                   std::to_string(kGpuFeatureLayoutVersion) + " (GPU)");
    }
    if (inputs != (uint32_t)features + 1) {
        throw fail("has " + std::to_string(inputs) + " inputs per stage, feature layout " +
                   std::to_string(layout) + " has " + std::to_string(features + 1));
    }
    if (h1 == 0 || h2 == 0 || h1 > 4096 || h2 > 4096) throw fail("implausible layer sizes");
    if (meta_len > (1u << 20)) throw fail("corrupt header (metadata length)");
    ModelWeights w;
    w.layout_version = layout;
    w.inputs = (int)inputs;
    w.hidden1 = (int)h1;
    w.hidden2 = (int)h2;
    w.max_correction = max_correction;
    w.max_discount = max_discount;
    w.members = (int)members;
    w.pessimism = pessimism;
    w.outputs = (int)outputs;
    if (w.outputs != 1 && layout >= kGpuFeatureLayoutVersion) throw fail("a GPU model with term outputs");
    w.metadata.resize(meta_len);
    take(w.metadata.data(), meta_len, "metadata");
    if (floats != w.payload_floats()) {
        throw fail("payload of " + std::to_string(floats) + " floats does not match its layer sizes (" +
                   std::to_string(w.payload_floats()) + ")");
    }
    if (in.remaining() < floats * sizeof(float)) {
        throw fail("truncated: " + std::to_string(in.remaining()) + " payload bytes of " +
                   std::to_string(floats * sizeof(float)));
    }
    if (in.remaining() > floats * sizeof(float)) throw fail("has trailing bytes after the payload");
    if (fnv1a(in.here(), floats * sizeof(float)) != checksum) {
        throw fail("corrupt: payload checksum mismatch");
    }
    w.allocate();
    for (std::vector<float> *t : tensors(w))
        take(t->data(), t->size() * sizeof(float), "payload");
    for (std::vector<float> *t : tensors(w)) {
        for (float v : *t) {
            if (!std::isfinite(v)) throw fail("corrupt: non-finite weight");
        }
    }
    return w;
}

void save_weights(const std::string &path, const ModelWeights &w) {
    ModelWeights copy = w;
    std::vector<float> payload;
    auto sizes = tensor_sizes(copy);
    auto ts = tensors(copy);
    for (size_t i = 0; i < ts.size(); i++) {
        HARL_ASSERT(ts[i]->size() == sizes[i],
                    "weights tensor " << i << " has " << ts[i]->size() << " floats, expected " << sizes[i]);
        payload.insert(payload.end(), ts[i]->begin(), ts[i]->end());
    }
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw HarlError("cannot write weights file '" + tmp + "'");
        uint32_t hdr[5] = {kWeightsFormatVersion, w.layout_version, (uint32_t)w.inputs, (uint32_t)w.hidden1,
                           (uint32_t)w.hidden2};
        uint64_t floats = payload.size(), checksum = fnv1a(payload.data(), payload.size() * sizeof(float));
        uint32_t meta_len = (uint32_t)w.metadata.size();
        out.write(kMagic, 8);
        out.write((const char *)hdr, sizeof(hdr));
        out.write((const char *)&w.max_correction, 4);
        out.write((const char *)&w.max_discount, 4);
        const uint32_t members = (uint32_t)w.members;
        out.write((const char *)&members, 4);
        out.write((const char *)&w.pessimism, 4);
        const uint32_t outputs = (uint32_t)w.outputs;
        out.write((const char *)&outputs, 4);
        out.write((const char *)&floats, 8);
        out.write((const char *)&checksum, 8);
        out.write((const char *)&meta_len, 4);
        out.write(w.metadata.data(), meta_len);
        out.write((const char *)payload.data(), (std::streamsize)(payload.size() * sizeof(float)));
        if (!out) throw HarlError("writing weights file '" + tmp + "' failed");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        throw HarlError("cannot move '" + tmp + "' to '" + path + "'");
    }
}

ModelWeights shipped_weights_for(const MachineInfo &m) {
    HARL_ASSERT(!m.gpu, "HARL ships no GPU weights");
    return m.avx512 ? shipped_avx512_weights() : shipped_weights();
}

void model_inputs(const StageFeatures &f, int features, double analytic_seconds, float *out) {
    HARL_ASSERT(features > 0 && features <= kNumFeatures, "model reads " << features << " features");
    for (int i = 0; i < features; i++) {
        const float v = f[i];
        out[i] = v == 0 ? v : std::copysign(std::log1p(std::fabs(v)), v); // (log1p(0) = 0: skipped)
    }
    out[features] = (float)std::log(std::max(analytic_seconds, 1e-12));
}

} // namespace harl
