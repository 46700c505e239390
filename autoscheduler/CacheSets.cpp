#include "CacheSets.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

namespace harl {

namespace {

struct KeyHash {
    size_t operator()(const std::vector<double> &k) const {
        size_t h = k.size();
        for (double v : k)
            h = h * 1000003u ^ std::hash<double>()(v);
        return h;
    }
};

// Answers of a pure function of `key` (no NaN in it: NaN keys never compare equal), kept per
// thread: the search asks about the same few regions and blocks over and over. The table is
// emptied when it holds 20,000 answers (a few MB at most).
template <typename T, typename Compute> T remembered(const std::vector<double> &key, Compute &&compute) {
    thread_local std::unordered_map<std::vector<double>, T, KeyHash> known;
    if (auto it = known.find(key); it != known.end()) return it->second;
    if (known.size() >= 20000) known.clear();
    const T answer = compute();
    known.emplace(key, answer);
    return answer;
}

// l1_thrashing_lines() without the table.
int count_thrashing_lines(const std::vector<double> &block) {
    const int sets = (int)(kL1Bytes / kLineBytes / kL1Ways);
    std::vector<double> offsets = {0}, next;
    double points = 1;
    for (size_t i = 0; i + 1 < block.size(); i += 2) {
        const double stride = block[i], extent = block[i + 1];
        points *= extent;
        if (points > 4096) return 0;
        if (stride == 0) continue; // repeats the same offsets
        next.clear();
        for (int64_t u = 0; u < (int64_t)extent; u++)
            for (double o : offsets)
                next.push_back(o + (double)u * stride);
        offsets.swap(next);
    }
    // Neighbouring offsets mostly share a line: drop those repeats first. A set can only
    // thrash if it gets more than its ways even with the remaining repeats counted.
    std::vector<int64_t> lines;
    for (double o : offsets) {
        const int64_t line = (int64_t)std::floor(o / kLineBytes);
        if (lines.empty() || lines.back() != line) lines.push_back(line);
    }
    if (lines.size() <= (size_t)kL1Ways) return 0;
    std::vector<int> lines_per_set(sets);
    auto count_per_set = [&] {
        std::fill(lines_per_set.begin(), lines_per_set.end(), 0);
        bool over = false;
        for (int64_t line : lines)
            over |= ++lines_per_set[((line % sets) + sets) % sets] > kL1Ways;
        return over;
    };
    if (!count_per_set()) return 0;
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    count_per_set();
    int thrashing = 0;
    for (int c : lines_per_set)
        thrashing += c > kL1Ways ? c : 0;
    return thrashing;
}

} // namespace

RegionLines::RegionLines(const Region &reg, const Region &dims, double elem) {
    const size_t n = std::min(reg.size(), dims.size());
    // The contiguous run: leading dimensions the region covers whole, then one more.
    double run = 1, stride = 1;
    size_t d = 0;
    while (d < n && reg[d].extent() >= dims[d].extent()) {
        run *= (double)std::max<int64_t>(1, dims[d].extent());
        d++;
    }
    stride = run;
    if (d < n) {
        run *= (double)std::max<int64_t>(1, reg[d].extent());
        stride *= (double)std::max<int64_t>(1, dims[d].extent());
        d++;
    }
    run_bytes_ = run * elem;
    // The rows: one per point of the remaining dimensions, each that dimension's stride apart.
    for (size_t k = d; k < n; k++) {
        outer_.emplace_back(std::max<int64_t>(1, reg[k].extent()), stride * elem);
        rows_ *= (double)outer_.back().first;
        stride *= (double)std::max<int64_t>(1, dims[k].extent());
    }
    lines_ = rows_ * std::ceil(run_bytes_ / kLineBytes);
}

double RegionLines::occupied(int sets, int ways) const {
    // Crowding matters only for what could fit; listing more than this costs the search.
    constexpr double kMostListed = 1024;
    if (lines_ <= ways || lines_ > std::min<double>((double)sets * ways, kMostListed)) return lines_;
    std::vector<double> key;
    key.reserve(3 + 2 * outer_.size());
    key.insert(key.end(), {run_bytes_, (double)sets, (double)ways});
    for (const auto &o : outer_) {
        key.push_back((double)o.first);
        key.push_back(o.second);
    }
    return remembered<double>(key, [&] { return crowded(sets, ways); });
}

double RegionLines::crowded(int sets, int ways) const {
    std::vector<uint16_t> per_set(sets, 0);
    int most = 0;
    std::vector<int64_t> at(outer_.size(), 0);
    for (double r = 0; r < rows_; r++) {
        double o = 0;
        for (size_t k = 0; k < outer_.size(); k++)
            o += (double)at[k] * outer_[k].second;
        const int64_t first = (int64_t)std::floor(o / kLineBytes);
        const int64_t last = (int64_t)std::floor((o + std::max(run_bytes_, 1.0) - 1) / kLineBytes);
        for (int64_t l = first; l <= last; l++)
            most = std::max<int>(most, ++per_set[(size_t)(((l % sets) + sets) % sets)]);
        for (size_t k = 0; k < outer_.size() && ++at[k] == outer_[k].first; k++)
            at[k] = 0;
    }
    return most > ways ? std::max(lines_, (double)most * sets) : lines_;
}

int l1_thrashing_lines(const std::vector<double> &block) {
    for (size_t i = 0; i < block.size(); i += 2) {
        if (std::isnan(block[i])) return 0;
    }
    return remembered<int>(block, [&] { return count_thrashing_lines(block); });
}

} // namespace harl
