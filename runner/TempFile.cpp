#include "TempFile.h"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace harl {

TempFile::TempFile(const std::string &prefix) {
    std::string name = "/tmp/" + prefix + "-XXXXXX";
    const int fd = mkstemp(name.data());
    if (fd < 0) return;
    close(fd); // users open it by its path, in the parent or a child
    path_ = name;
}

TempFile::~TempFile() {
    if (ok()) std::remove(path_.c_str());
}

} // namespace harl
