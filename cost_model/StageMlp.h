// StageMlp: the learned per-stage network, shared by inference (TorchCostModel.cpp) and
// training (Trainer.cpp). Include only from those two files: LibTorch headers compile slowly.
//
// A stage's predicted seconds = analytic estimate * exp(correction), where the correction is
// a 3-layer MLP of the normalised stage inputs (ModelWeights.h: signed-log features and the
// log analytic estimate), squashed to [-max_discount, max_correction]. The last layer starts
// at zero, so an untrained model is the analytic model; training learns where it is wrong.
#pragma once

#include "../autoscheduler/Errors.h"
#include "ModelWeights.h"

#include <torch/torch.h>

namespace harl {

struct StageMlpImpl : torch::nn::Module {
    StageMlpImpl(int inputs, int hidden1, int hidden2, double max_correction, double max_discount,
                 int outputs = 1)
        : max_correction(max_correction), max_discount(max_discount),
          fc1(register_module("fc1", torch::nn::Linear(inputs, hidden1))),
          fc2(register_module("fc2", torch::nn::Linear(hidden1, hidden2))),
          fc3(register_module("fc3", torch::nn::Linear(hidden2, outputs))) {
        mean = register_buffer("mean", torch::zeros({inputs}));
        scale = register_buffer("scale", torch::ones({inputs}));
        torch::NoGradGuard g;
        fc3->weight.zero_();
        fc3->bias.zero_();
    }

    // Log-corrections of raw (unnormalised) stage rows: rows x outputs (ModelWeights::outputs).
    torch::Tensor forward(const torch::Tensor &raw) {
        torch::Tensor x = torch::clamp((raw - mean) * scale, -kInputClamp, kInputClamp);
        x = torch::relu(fc1(x));
        x = torch::relu(fc2(x));
        torch::Tensor raw_correction = fc3(x);
        // bounded_correction() of ModelWeights.h, on tensors.
        return torch::where(raw_correction >= 0,
                            max_correction * torch::tanh(raw_correction / max_correction),
                            max_discount * torch::tanh(raw_correction / max_discount));
    }

    // One network: a member of an ensemble (ModelWeights::member).
    void load(const ModelWeights &w) {
        HARL_ASSERT(w.members == 1, "StageMlp::load takes one member, not an ensemble of " << w.members);
        torch::NoGradGuard g;
        auto copy = [](torch::Tensor t, const std::vector<float> &v) {
            t.copy_(torch::from_blob((void *)v.data(), {(long)v.size()}, torch::kFloat32).view(t.sizes()));
        };
        copy(mean, w.mean);
        copy(scale, w.scale);
        copy(fc1->weight, w.w1);
        copy(fc1->bias, w.b1);
        copy(fc2->weight, w.w2);
        copy(fc2->bias, w.b2);
        copy(fc3->weight, w.w3);
        copy(fc3->bias, w.b3);
    }

    ModelWeights save() const {
        ModelWeights w;
        w.inputs = (int)mean.size(0);
        w.hidden1 = (int)fc1->weight.size(0);
        w.hidden2 = (int)fc2->weight.size(0);
        w.outputs = (int)fc3->weight.size(0);
        w.max_correction = (float)max_correction;
        w.max_discount = (float)max_discount;
        auto get = [](const torch::Tensor &t) {
            torch::Tensor c = t.detach().contiguous().to(torch::kFloat32).view({-1});
            return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
        };
        w.mean = get(mean);
        w.scale = get(scale);
        w.w1 = get(fc1->weight);
        w.b1 = get(fc1->bias);
        w.w2 = get(fc2->weight);
        w.b2 = get(fc2->bias);
        w.w3 = get(fc3->weight);
        w.b3 = get(fc3->bias);
        return w;
    }

    double max_correction, max_discount;
    torch::nn::Linear fc1, fc2, fc3;
    torch::Tensor mean, scale;
};
TORCH_MODULE(StageMlp);

} // namespace harl
