#include "TempFile.h"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <vector>

namespace harl {

TempFile::TempFile(const std::string &prefix) {
    const std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    fd_ = mkstemp(name.data());
    if (fd_ >= 0) path_ = name.data();
}

TempFile::~TempFile() {
    if (fd_ >= 0) close(fd_);
    if (ok()) std::remove(path_.c_str());
}

int TempFile::take_descriptor() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

} // namespace harl
