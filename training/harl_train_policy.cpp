// harl-train-policy: pre-trains HARL's RL refinement policies (cost_model/PolicyNet.h) offline
// on random pipelines, with the cost model as the environment, by PPO in LibTorch
// (cost_model/PolicyTrainer.h). Each iteration: for a few random training pipelines, a
// beam search with randomised decisions gives an imperfect starting schedule, the current
// policies run refinement episodes from it (rewards: log of the predicted speedup of each edit),
// and one PPO update is taken over all their decisions. At the end, the initial and the trained
// policies refine the same held-out pipelines (no online adaptation, same seeds), and the
// predicted speedups are reported. `harl-train-policy --help` lists every option.
#include "Autoscheduler.h"
#include "BeamSearch.h"
#include "Errors.h"
#include "HostTarget.h"
#include "PolicyTrainer.h"
#include "RandomPipeline.h"
#include "refine/RlRefiner.h"

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>

namespace po = boost::program_options;

namespace {

struct Config {
    std::string out = "harl_policy.weights", log;
    int iterations = 60, pipelines_per_iteration = 4, episodes = 3, episode_length = 8;
    int train_seeds = 400, eval_pipelines = 16, max_stages = 10;
    double lr = 3e-3, minutes = 0;
    uint64_t seed = 1;
};

struct Problem {
    harl::RandomPipeline rp;
    std::unique_ptr<harl::PipelineGraph> graph;
    harl::ScheduleState start;
    double start_cost;
};

// A random pipeline and an imperfect starting schedule for it (beam search with randomised decisions).
Problem make_problem(uint64_t seed, const Config &cfg, const harl::MachineInfo &m, harl::CostModel &model) {
    harl::RandomPipeline rp = harl::make_random_pipeline(seed, 2, cfg.max_stages, 2);
    auto graph = std::make_unique<harl::PipelineGraph>(
        std::vector<Halide::Internal::Function>{rp.output.function()}, harl::host_target());
    harl::HarlOptions o;
    o.seed = seed;
    o.beam_size = 1 + (int)(seed % 4);
    o.randomize = 0.1 * (double)(seed % 5);
    o.time_budget_s = 5;
    harl::SearchResult sr = harl::beam_search(*graph, o, m, model);
    return {rp, std::move(graph), sr.best, sr.cost};
}

harl::SearchContext context(const harl::MachineInfo &m) {
    return harl::SearchContext::of(m);
}

// Mean log predicted speedup of a fixed refinement (10 episodes, no adaptation) over the problems.
double evaluate(harl::PolicyWeights policy, const std::vector<uint64_t> &seeds, const Config &cfg,
                const harl::MachineInfo &m, harl::CostModel &model, int *improved) {
    double sum = 0;
    *improved = 0;
    for (uint64_t s : seeds) {
        Problem p = make_problem(s, cfg, m, model);
        harl::EditSpace space(*p.graph, m, model, context(m), s);
        harl::RefineOptions ro;
        ro.adapt = false;
        ro.max_episodes = 10;
        ro.patience = 1000;
        ro.budget_s = 1e9;
        ro.seed = s;
        harl::RlRefiner rl(space, policy, ro);
        harl::RefineResult r = rl.refine(p.start);
        sum += std::log(r.start_cost / r.best_cost);
        *improved += r.best_cost < r.start_cost * 0.999;
    }
    return sum / (double)seeds.size();
}

} // namespace

int main(int argc, char **argv) {
    Config cfg;
    po::options_description desc(
        "harl-train-policy: pre-trains HARL's RL refinement policies on random pipelines\n\n"
        "Usage: harl-train-policy [--out FILE] [--iterations N] [--minutes M]\n\nOptions");
    desc.add_options()("help,h", "print this help")("out", po::value(&cfg.out)->default_value(cfg.out),
                                                    "policy file to write (use it with HARL_POLICY=FILE)")(
        "iterations", po::value(&cfg.iterations)->default_value(cfg.iterations),
        "PPO updates")("minutes", po::value(&cfg.minutes)->default_value(0),
                       "stop training after this many minutes (0: no limit)")(
        "pipelines", po::value(&cfg.pipelines_per_iteration)->default_value(cfg.pipelines_per_iteration),
        "random pipelines per update")("episodes", po::value(&cfg.episodes)->default_value(cfg.episodes),
                                       "episodes per pipeline")(
        "episode-length", po::value(&cfg.episode_length)->default_value(cfg.episode_length),
        "edits per episode")("train-seeds", po::value(&cfg.train_seeds)->default_value(cfg.train_seeds),
                             "training pipelines are seeds [1000000, 1000000 + N)")(
        "eval-pipelines", po::value(&cfg.eval_pipelines)->default_value(cfg.eval_pipelines),
        "held-out pipelines (seeds from 2000000) compared before/after")(
        "max-stages", po::value(&cfg.max_stages)->default_value(cfg.max_stages),
        "most stages per pipeline")("lr", po::value(&cfg.lr)->default_value(cfg.lr), "Adam learning rate")(
        "seed", po::value(&cfg.seed)->default_value(cfg.seed),
        "random seed")("log", po::value(&cfg.log), "CSV of per-iteration statistics");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const std::exception &e) {
        std::cerr << "harl-train-policy: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc;
        return 0;
    }
    try {
        if (cfg.iterations < 0 || cfg.pipelines_per_iteration < 1 || cfg.episodes < 1 ||
            cfg.episode_length < 1)
            throw harl::HarlError("--iterations/--pipelines/--episodes/--episode-length must be positive");
        using clock = std::chrono::steady_clock;
        const auto t0 = clock::now();
        auto minutes = [&] { return std::chrono::duration<double>(clock::now() - t0).count() / 60; };
        Halide::MachineParams mp(2, 32 << 20, 40);
        harl::MachineInfo m = harl::make_machine_info(harl::host_target(), mp);
        auto model = harl::make_base_cost_model(m);
        const harl::PolicyWeights initial = harl::PolicyWeights::initial(cfg.seed);
        harl::PolicyWeights policy = initial;
        harl::PolicyTrainer trainer(policy, cfg.lr, cfg.seed);
        std::mt19937_64 rng(cfg.seed);
        std::ofstream log;
        if (!cfg.log.empty()) {
            log.open(cfg.log);
            log << "iteration,mean_step_reward,mean_episode_gain,policy_loss,critic_loss,entropy,minutes\n";
        }
        int done = 0;
        for (int it = 0; it < cfg.iterations && (cfg.minutes <= 0 || minutes() < cfg.minutes); it++) {
            std::vector<harl::PolicyDecision> decisions;
            std::vector<harl::CriticSample> critic;
            double reward = 0, gain = 0;
            int steps = 0, eps = 0;
            for (int k = 0; k < cfg.pipelines_per_iteration; k++) {
                const uint64_t s = 1000000 + rng() % (uint64_t)cfg.train_seeds;
                Problem p = make_problem(s, cfg, m, *model);
                harl::EditSpace space(*p.graph, m, *model, context(m), s + (uint64_t)it);
                harl::RefineOptions ro;
                ro.adapt = false;
                ro.seed = s * 31 + (uint64_t)it;
                harl::RlRefiner rl(space, policy, ro);
                for (int e = 0; e < cfg.episodes; e++) {
                    harl::Episode ep = rl.run_episode(p.start, p.start_cost, cfg.episode_length, 1.0);
                    rl.finish(ep);
                    for (double r : ep.rewards)
                        reward += r;
                    steps += (int)ep.rewards.size();
                    gain += std::log(p.start_cost / ep.best_cost);
                    eps++;
                    decisions.insert(decisions.end(), ep.decisions.begin(), ep.decisions.end());
                    critic.insert(critic.end(), ep.critic.begin(), ep.critic.end());
                }
            }
            harl::PolicyLosses l = trainer.update(decisions, critic);
            policy = trainer.weights();
            done++;
            std::cout << "iteration " << std::setw(3) << it + 1 << ": mean edit reward " << std::fixed
                      << std::setprecision(4) << reward / std::max(1, steps) << ", mean episode gain "
                      << gain / std::max(1, eps) << ", policy loss " << l.policy << ", critic loss "
                      << l.critic << ", entropy " << l.entropy << std::endl;
            if (log) {
                log << it + 1 << "," << reward / std::max(1, steps) << "," << gain / std::max(1, eps) << ","
                    << l.policy << "," << l.critic << "," << l.entropy << "," << minutes() << "\n";
            }
        }
        std::vector<uint64_t> held_out;
        for (int i = 0; i < cfg.eval_pipelines; i++)
            held_out.push_back(2000000 + (uint64_t)i);
        int imp0 = 0, imp1 = 0;
        const double g0 = evaluate(initial, held_out, cfg, m, *model, &imp0);
        const double g1 = evaluate(policy, held_out, cfg, m, *model, &imp1);
        std::ostringstream meta;
        meta << "harl-train-policy: " << done << " PPO iterations x " << cfg.pipelines_per_iteration
             << " pipelines x " << cfg.episodes << " episodes of " << cfg.episode_length << " edits, lr "
             << cfg.lr << ", seed " << cfg.seed
             << ", analytic cost model rewards; held-out mean log predicted speedup " << g0
             << " (initial) -> " << g1 << " (trained)";
        policy.metadata = meta.str();
        harl::save_policy(cfg.out, policy);
        std::cout << "held-out (" << held_out.size()
                  << " pipelines, 10 episodes each, no adaptation): mean log "
                  << "predicted speedup " << g0 << " with the initial policy (" << imp0 << " improved), "
                  << g1 << " trained (" << imp1 << " improved)\nwrote " << cfg.out << "\n";
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "harl-train-policy: error: " << e.what() << "\n";
        return 1;
    }
}
