#include "Errors.h"

namespace harl::detail {

void assertion_failed(const char *cond, const char *file, int line, const std::string &msg) {
    std::ostringstream os;
    os << "internal error (please report): " << msg << " [" << cond << " at " << file << ":" << line << "]";
    throw HarlError(os.str());
}

} // namespace harl::detail
