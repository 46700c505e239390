#include "PolicyTrainer.h"
#include "../autoscheduler/Errors.h"

#include <torch/torch.h>

namespace harl {
namespace {

struct PolicyMlpImpl : torch::nn::Module {
    PolicyMlpImpl(int in, int hidden)
        : fc1(register_module("fc1", torch::nn::Linear(in, hidden))),
          fc2(register_module("fc2", torch::nn::Linear(hidden, 1))) {}
    torch::Tensor forward(const torch::Tensor &x) { return fc2(torch::tanh(fc1(x))).squeeze(1); }

    // Flat layout of Mlp: W1 (hidden x in), b1, w2 (hidden), b2.
    void load(const Mlp &m) {
        torch::NoGradGuard g;
        const float *p = m.params().data();
        auto take = [&](torch::Tensor t) {
            t.copy_(torch::from_blob((void *)p, {t.numel()}, torch::kFloat32).view(t.sizes()));
            p += t.numel();
        };
        take(fc1->weight);
        take(fc1->bias);
        take(fc2->weight);
        take(fc2->bias);
    }
    void save(Mlp &m) const {
        float *p = m.params().data();
        for (const torch::Tensor &t : {fc1->weight, fc1->bias, fc2->weight, fc2->bias}) {
            torch::Tensor c = t.detach().contiguous().view({-1});
            std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), p);
            p += c.numel();
        }
    }
    torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(PolicyMlp);

torch::Tensor rows_tensor(const std::vector<float> &rows, int n, int in) {
    return torch::from_blob((void *)rows.data(), {n, in}, torch::kFloat32).clone();
}

} // namespace

struct PolicyTrainer::Impl {
    std::vector<PolicyMlp> nets;
    PolicyWeights shape;
    std::unique_ptr<torch::optim::Adam> opt;
};

PolicyTrainer::PolicyTrainer(const PolicyWeights &init, double lr, uint64_t seed) : impl_(new Impl) {
    torch::manual_seed(seed);
    impl_->shape = init;
    std::vector<torch::Tensor> params;
    for (const Mlp &m : init.nets) {
        impl_->nets.emplace_back(m.inputs(), m.hidden());
        impl_->nets.back()->load(m);
        for (auto &p : impl_->nets.back()->parameters())
            params.push_back(p);
    }
    impl_->opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr));
}

PolicyTrainer::~PolicyTrainer() = default;

PolicyLosses PolicyTrainer::update(const std::vector<PolicyDecision> &decisions,
                                   const std::vector<CriticSample> &critic, int epochs, double clip,
                                   double entropy_weight) {
    PolicyLosses out;
    if (decisions.empty()) return out;
    // Inputs, old log-probabilities and normalised advantages.
    std::vector<torch::Tensor> x;
    std::vector<double> old_logp, adv;
    double mean = 0, sq = 0;
    for (const PolicyDecision &d : decisions) {
        mean += d.advantage;
        sq += d.advantage * d.advantage;
    }
    mean /= (double)decisions.size();
    const double sd = std::sqrt(std::max(1e-12, sq / (double)decisions.size() - mean * mean));
    {
        torch::NoGradGuard g;
        for (const PolicyDecision &d : decisions) {
            x.push_back(rows_tensor(d.rows, d.num_rows, impl_->shape.nets[d.net].inputs()));
            torch::Tensor lp = torch::log_softmax(impl_->nets[d.net]->forward(x.back()) / d.temperature, 0);
            old_logp.push_back(lp[d.chosen].item<double>());
            adv.push_back((d.advantage - mean) / sd);
        }
    }
    torch::Tensor cx, cy;
    if (!critic.empty()) {
        std::vector<float> rows, targets;
        for (const CriticSample &c : critic) {
            rows.insert(rows.end(), c.row.begin(), c.row.end());
            targets.push_back((float)c.target);
        }
        cx = rows_tensor(rows, (int)critic.size(), kCriticInputs);
        cy = torch::tensor(targets);
    }
    for (int e = 0; e < epochs; e++) {
        impl_->opt->zero_grad();
        torch::Tensor policy_loss = torch::zeros({}), entropy = torch::zeros({});
        for (size_t i = 0; i < decisions.size(); i++) {
            const PolicyDecision &d = decisions[i];
            torch::Tensor lp = torch::log_softmax(impl_->nets[d.net]->forward(x[i]) / d.temperature, 0);
            torch::Tensor ratio = torch::exp(lp[d.chosen] - old_logp[i]);
            torch::Tensor surr = torch::min(ratio * adv[i], torch::clamp(ratio, 1 - clip, 1 + clip) * adv[i]);
            policy_loss = policy_loss - surr;
            entropy = entropy - (torch::exp(lp) * lp).sum();
        }
        policy_loss = policy_loss / (double)decisions.size();
        entropy = entropy / (double)decisions.size();
        torch::Tensor critic_loss = torch::zeros({});
        if (cx.defined()) critic_loss = 0.5 * torch::mse_loss(impl_->nets[CriticNet]->forward(cx), cy);
        torch::Tensor loss = policy_loss - entropy_weight * entropy + critic_loss;
        loss.backward();
        std::vector<torch::Tensor> all;
        for (auto &n : impl_->nets)
            for (auto &p : n->parameters())
                all.push_back(p);
        torch::nn::utils::clip_grad_norm_(all, 1.0);
        impl_->opt->step();
        out = {policy_loss.item<double>(), critic_loss.item<double>(), entropy.item<double>()};
    }
    return out;
}

PolicyWeights PolicyTrainer::weights() const {
    PolicyWeights w = impl_->shape;
    for (int k = 0; k < NumPolicyNets; k++)
        impl_->nets[k]->save(w.nets[k]);
    return w;
}

std::vector<double> torch_policy_scores(const PolicyWeights &w, PolicyNetId net,
                                        const std::vector<float> &rows, int num_rows) {
    torch::NoGradGuard g;
    PolicyMlp m(w.nets[net].inputs(), w.nets[net].hidden());
    m->load(w.nets[net]);
    torch::Tensor s = m->forward(rows_tensor(rows, num_rows, w.nets[net].inputs())).to(torch::kFloat64);
    return std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
}

} // namespace harl
