// TempFile: an empty file of its own under /tmp (mkstemp), through which a forked child hands
// its results to the parent (ChildProcessRunner's children share no memory with it). The file
// is removed when the TempFile goes out of scope, however the caller leaves it.
#pragma once

#include <string>

namespace harl {

class TempFile {
  public:
    // Creates /tmp/PREFIX-XXXXXX; ok() says whether that worked (the caller says what failed).
    explicit TempFile(const std::string &prefix);
    ~TempFile();
    TempFile(const TempFile &) = delete;
    TempFile &operator=(const TempFile &) = delete;

    bool ok() const { return !path_.empty(); }
    const std::string &path() const { return path_; } // empty if !ok()

  private:
    std::string path_;
};

} // namespace harl
