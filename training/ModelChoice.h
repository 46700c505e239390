// How the training tools name a cost model on their command lines: "analytic" (the hand-written
// model), "shipped" (the learned model with the weights built into HARL) or the path of a
// weights file (harl-train's output). harl-compare searches with them, harl-profile sets their
// per-stage estimates beside measured times.
#pragma once

#include "ModelWeights.h"
#include "Options.h"

#include <string>

namespace harl {

// `base` with its cost model set to the one named (weights files are checked when loaded).
inline HarlOptions options_for_cost_model(HarlOptions base, const std::string &name) {
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
inline void check_cost_model_name(const std::string &name) {
    if (name != "analytic" && name != "shipped") load_weights(name);
}

} // namespace harl
