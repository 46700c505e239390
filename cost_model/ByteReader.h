// ByteReader: bounds-checked reading of the binary files HARL loads (cost-model weights,
// policies), so each parser only states its fields and its error messages.
#pragma once

#include "../autoscheduler/Errors.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

namespace harl {

// The bytes of `path`; a HarlError "<what> '<path>' cannot be opened (missing or unreadable): <hint>".
inline std::string read_file_bytes(const std::string &path, const std::string &what,
                                   const std::string &hint) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw HarlError(what + " '" + path + "' cannot be opened (missing or unreadable): " + hint);
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

class ByteReader {
  public:
    // `fail` turns a problem into the error to throw (it names the source).
    ByteReader(const std::string &bytes, std::function<HarlError(const std::string &)> fail)
        : bytes_(bytes), fail_(std::move(fail)) {}
    void take(void *dst, size_t n, const char *what) {
        if (pos_ + n > bytes_.size()) throw fail_(std::string("truncated: ends inside the ") + what);
        std::memcpy(dst, bytes_.data() + pos_, n);
        pos_ += n;
    }
    size_t remaining() const { return bytes_.size() - pos_; }
    const char *here() const { return bytes_.data() + pos_; }
    HarlError fail(const std::string &why) const { return fail_(why); }

  private:
    const std::string &bytes_;
    std::function<HarlError(const std::string &)> fail_;
    size_t pos_ = 0;
};

} // namespace harl
