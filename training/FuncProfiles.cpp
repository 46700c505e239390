#include "FuncProfiles.h"
#include "Errors.h"

#include <algorithm>

namespace harl {

void FuncProfiles::add(const std::vector<FuncProfileRecord> &profiles) {
    for (const FuncProfileRecord &p : profiles)
        by_sample_.emplace(std::make_pair(p.pipeline, p.features_hash), p); // the first of several machines
}

bool FuncProfiles::attach(const std::string &pipeline, const std::vector<uint8_t> &featurization,
                          TrainingSample *s) const {
    auto it = by_sample_.find({pipeline, features_hash(featurization)});
    if (it == by_sample_.end()) return false;
    const FuncProfileRecord &p = it->second;
    if (p.stage_func.size() != s->stages.size()) {
        throw HarlError("the profile of " + pipeline + " candidate " + std::to_string(p.candidate) + " has " +
                        std::to_string(p.stage_func.size()) + " stages, its sample " +
                        std::to_string(s->stages.size()) + ": profile it again (harl-profile --save)");
    }
    std::map<std::string, int> index;
    std::vector<double> ms;
    std::vector<int> stage_func;
    for (size_t i = 0; i < p.stage_func.size(); i++) {
        auto at = index.emplace(p.stage_func[i], (int)ms.size());
        if (at.second) ms.push_back(std::max(0.0, p.func_ms[i]));
        stage_func.push_back(at.first->second);
    }
    double total = 0;
    for (double m : ms)
        total += m;
    if (!(total > 0)) return false; // the profiler saw none of its Funcs: nothing to learn
    s->stage_func = std::move(stage_func);
    s->func_share.clear();
    for (double m : ms)
        s->func_share.push_back(m / total);
    s->profiled_ms = p.total_ms;
    return true;
}

int drop_distorted_profiles(TrainingPipeline *p) {
    // How much slower than its sample's runtime a profile ran.
    auto ratio = [](const TrainingSample &s) { return s.profiled_ms / (s.runtime_s * 1e3); };
    std::vector<double> ratios;
    for (const TrainingSample &s : p->samples)
        if (!s.func_share.empty()) ratios.push_back(ratio(s));
    if (ratios.empty()) return 0;
    std::nth_element(ratios.begin(), ratios.begin() + ratios.size() / 2, ratios.end());
    const double median = ratios[ratios.size() / 2];
    int dropped = 0;
    for (TrainingSample &s : p->samples) {
        if (s.func_share.empty() || ratio(s) <= kMaxProfileDistortion * median) continue;
        s.stage_func.clear();
        s.func_share.clear();
        s.profiled_ms = 0;
        dropped++;
    }
    return dropped;
}

} // namespace harl
