// Errors reported to the user by HARL. Every error that is the user's to fix (missing
// estimates, unsupported pipeline features, bad options) is a HarlError with a message that
// names the Func and what to change; internal invariants use HARL_ASSERT.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace harl {

class HarlError : public std::runtime_error {
  public:
    explicit HarlError(const std::string &msg) : std::runtime_error("HARL: " + msg) {}
};

namespace detail {
[[noreturn]] void assertion_failed(const char *cond, const char *file, int line, const std::string &msg);
} // namespace detail

} // namespace harl

#define HARL_ASSERT(cond, msg)                                                                               \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            std::ostringstream harl_assert_os_;                                                              \
            harl_assert_os_ << msg;                                                                          \
            ::harl::detail::assertion_failed(#cond, __FILE__, __LINE__, harl_assert_os_.str());              \
        }                                                                                                    \
    } while (0)
