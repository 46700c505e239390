// Cache geometry for the featurizer: the caches HARL models (line size, L1 and L2 capacity and
// ways) and where the lines of a region or of a loop block fall in their sets. Rows a power of
// two apart all land in one set, so a small working set can still miss on every access.
#ifndef HARL_CACHE_SETS_H
#define HARL_CACHE_SETS_H

#include "PipelineGraph.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace harl {

constexpr double kL1Bytes = 32 * 1024, kL2Bytes = 512 * 1024;
constexpr int kLineBytes = 64, kL1Ways = 8, kL2Ways = 8;

// A region of a Func's storage (dimension 0 innermost, `dims` the storage extents, `elem` bytes
// per element) as the cache lines it covers: rows of contiguous bytes, each starting where the
// region's strides put it (the first one aligned).
class RegionLines {
  public:
    RegionLines(const Region &reg, const Region &dims, double elem);

    // Whole lines.
    double lines() const { return lines_; }

    // Lines it occupies of a cache of `sets` sets of `ways` lines: where its lines crowd some
    // sets beyond their ways, as if every set held as many (the excess evicts itself and
    // everything else: rows a power of two apart all land in one set).
    double occupied(int sets, int ways) const;

  private:
    double crowded(int sets, int ways) const; // occupied() without the table of answers
    double run_bytes_ = 0, rows_ = 1, lines_ = 0;
    std::vector<std::pair<int64_t, double>> outer_; // extent, stride in bytes
};

// Lines of L1 sets that hold more of a block's lines than their ways. `block`: (stride in
// bytes, extent) of each loop around the block's accesses. Blocks of more than 4096 points, or
// with a stride that is not a constant (NaN), count as none.
int l1_thrashing_lines(const std::vector<double> &block);

} // namespace harl

#endif // HARL_CACHE_SETS_H
