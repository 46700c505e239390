// The learned model evaluated with LibTorch (TorchCostModel.cpp); no LibTorch types here.
#pragma once

#include "CostModel.h"

namespace harl {

std::unique_ptr<CostModel> make_torch_cost_model(const MachineInfo &m, const ModelWeights &w);

} // namespace harl
