#include "FeatureLayout.h"
#include "GpuFeatureLayout.h"

namespace harl {

const char *feature_name(int index) {
    static const char *names[] = {
#define HARL_FEATURE_NAME(name) #name,
        HARL_FEATURE_LIST(HARL_FEATURE_NAME)
#undef HARL_FEATURE_NAME
    };
    return (index >= 0 && index < kNumFeatures) ? names[index] : "?";
}

int num_features_of_layout(uint32_t layout_version) {
    if (layout_version == kFeatureLayoutVersion) return kNumFeatures;
    // GPU layout 1 was defined when StageFeatures had layout 6's size: its files keep that.
    if (layout_version == kGpuFeatureLayoutVersion) return kNumFeaturesLayout6;
    if (layout_version == 1) return kNumFeaturesLayout1;
    if (layout_version == 2) return kNumFeaturesLayout2;
    if (layout_version == 3) return kNumFeaturesLayout3;
    if (layout_version == 4) return kNumFeaturesLayout4;
    if (layout_version == 5) return kNumFeaturesLayout5;
    if (layout_version == 6) return kNumFeaturesLayout6;
    if (layout_version == 7) return kNumFeaturesLayout7;
    return 0;
}

} // namespace harl

#include "GpuFeatureLayout.h"

namespace harl {

const char *gpu_feature_name(int index) {
    static const char *names[] = {
#define HARL_GPU_FEATURE_NAME(name) #name,
        HARL_GPU_FEATURE_LIST(HARL_GPU_FEATURE_NAME)
#undef HARL_GPU_FEATURE_NAME
    };
    return (index >= 0 && index < kNumGpuFeatures) ? names[index] : "?";
}

} // namespace harl
