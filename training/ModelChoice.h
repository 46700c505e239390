// How the training tools name a cost model on their command lines: "analytic" (the hand-written
// model), "shipped" (the learned model with the weights built into HARL) or the path of a
// weights file (harl-train's output), a learned one with ":alone" for its search without the
// analytic model's (HARL_PORTFOLIO=0). harl-compare searches with them, harl-profile sets their
// per-stage estimates beside measured times.
#pragma once

#include "ModelWeights.h"
#include "Options.h"

#include <string>

namespace harl {

// A learned model's name may end in ":alone": its own search only, without the analytic
// model's second search (HARL_PORTFOLIO=0), to measure what that search adds.
constexpr const char *kAloneSuffix = ":alone";

inline std::string without_alone_suffix(const std::string &name) {
    const std::string suffix = kAloneSuffix;
    const bool alone =
        name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    return alone ? name.substr(0, name.size() - suffix.size()) : name;
}

// `base` with its cost model set to the one named (weights files are checked when loaded).
inline HarlOptions options_for_cost_model(HarlOptions base, const std::string &full_name) {
    const std::string name = without_alone_suffix(full_name);
    if (name != full_name) base.portfolio = false;
    if (name == "analytic") {
        base.cost_model = "analytic";
    } else {
        base.cost_model = "learned";
        base.weights = name == "shipped" ? "" : name;
    }
    return base;
}

// Throws HarlError naming the file and the problem unless `name` is analytic, shipped or a
// weights file HARL can load.
inline void check_cost_model_name(const std::string &full_name) {
    const std::string name = without_alone_suffix(full_name);
    if (name == "analytic" && name != full_name)
        throw HarlError("\"analytic:alone\": only a learned model has a second search to leave out");
    if (name != "analytic" && name != "shipped") load_weights(name);
}

} // namespace harl
