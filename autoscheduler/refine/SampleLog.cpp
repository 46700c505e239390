#include "SampleLog.h"
#include "../../cost_model/ByteReader.h"

#include <fstream>

namespace harl {

void append_measured_sample(const std::string &path, const MeasuredSample &s) {
    std::string p;
    auto put = [&](const void *d, size_t n) { p.append((const char *)d, n); };
    auto str = [&](const std::string &v) {
        uint32_t n = (uint32_t)v.size();
        put(&n, 4);
        put(v.data(), n);
    };
    str(s.pipeline);
    str(s.target);
    str(s.machine_params);
    str(s.status);
    str(s.message);
    put(&s.runtime_s, 8);
    put(&s.median_s, 8);
    put(&s.compile_s, 8);
    uint32_t runs = (uint32_t)s.runs, nf = (uint32_t)s.features.size();
    put(&runs, 4);
    put(&nf, 4);
    put(s.features.data(), nf);
    std::ofstream out(path, std::ios::binary | std::ios::app);
    uint32_t len = (uint32_t)p.size();
    out.write("HSMP", 4);
    out.write((const char *)&len, 4);
    out.write(p.data(), (std::streamsize)p.size());
    if (!out) throw HarlError("HARL_SAMPLES=" + path + ": cannot append to it");
}

std::vector<MeasuredSample> read_measured_samples(const std::string &path) {
    const std::string bytes =
        read_file_bytes(path, "measured-samples file", "give the file HARL_SAMPLES wrote");
    ByteReader in(bytes, [&](const std::string &why) {
        return HarlError("measured-samples file '" + path + "': " + why);
    });
    std::vector<MeasuredSample> out;
    while (in.remaining() > 0) {
        char magic[4];
        uint32_t len;
        in.take(magic, 4, "record header");
        if (std::memcmp(magic, "HSMP", 4) != 0) {
            throw in.fail("record " + std::to_string(out.size() + 1) +
                          " has a bad magic (not a HARL_SAMPLES file?)");
        }
        in.take(&len, 4, "record header");
        if (len > in.remaining())
            throw in.fail("truncated: record " + std::to_string(out.size() + 1) + " is cut short");
        MeasuredSample s;
        auto str = [&](std::string &v) {
            uint32_t n;
            in.take(&n, 4, "record");
            if (n > in.remaining()) throw in.fail("corrupt record " + std::to_string(out.size() + 1));
            v.assign(in.here(), n);
            in.take(v.data(), n, "record");
        };
        str(s.pipeline);
        str(s.target);
        str(s.machine_params);
        str(s.status);
        str(s.message);
        in.take(&s.runtime_s, 8, "record");
        in.take(&s.median_s, 8, "record");
        in.take(&s.compile_s, 8, "record");
        uint32_t runs, nf;
        in.take(&runs, 4, "record");
        in.take(&nf, 4, "record");
        if (nf > in.remaining()) throw in.fail("corrupt record " + std::to_string(out.size() + 1));
        s.runs = (int)runs;
        s.features.resize(nf);
        in.take(s.features.data(), nf, "record");
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace harl
