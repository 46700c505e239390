#include "MeasuredTuner.h"
#include "../Autoscheduler.h"
#include "../BeamSearch.h"
#include "../Errors.h"
#include "../Featurizer.h"
#include "SampleLog.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>

namespace harl {
namespace {

class Tuning {
  public:
    Tuning(const TuneSetup &s, const ScheduleState &start) : s_(s), res_{start, 0, 0, 0, 0, {}} {}

    bool budget_left() const { return (int)res_.trace.size() < s_.options->measure; }
    bool seen(const ScheduleState &st) const { return measured_.count(st.describe()) > 0; }

    // Measures one schedule (once); returns its seconds, or 0 when it failed.
    double measure(const ScheduleState &st) {
        const std::string key = st.describe();
        auto it = measured_.find(key);
        if (it != measured_.end()) return it->second;
        TracePoint tp;
        tp.index = (int)res_.trace.size() + 1;
        tp.predicted_s = s_.space->cost(st);
        MeasureResult m = s_.measurer->measure(st);
        tp.status = m.status_name();
        std::vector<int> nodes, stages; // of the features: the HARL_SAMPLES record needs them
        const std::vector<StageFeatures> features = featurize_all(st, *s_.machine, &nodes, &stages);
        if (m.ok()) {
            tp.runtime_s = m.min_seconds;
            by_time_.emplace_back(m.min_seconds, st);
            s_.model->add_measurement(features, m.min_seconds);
            if (res_.best_seconds == 0 || m.min_seconds < res_.best_seconds) {
                res_.best = st;
                res_.best_seconds = m.min_seconds;
            }
        } else {
            res_.failed++;
            if (s_.options->verbose >= 1) {
                std::cerr << "HARL: candidate " << tp.index << " " << tp.status << ": "
                          << m.message.substr(0, 300) << "\n";
            }
        }
        if (!s_.options->samples.empty()) {
            MeasuredSample ms;
            ms.pipeline = s_.label;
            ms.target = s_.target;
            ms.machine_params = s_.machine_params;
            ms.status = m.status_name();
            ms.message = m.message.substr(0, 2000);
            ms.runtime_s = m.min_seconds;
            ms.median_s = m.median_seconds;
            ms.compile_s = m.compile_seconds;
            ms.runs = m.runs;
            ms.features = encode_featurization(nodes, stages, features);
            append_measured_sample(s_.options->samples, ms);
        }
        tp.best_s = res_.best_seconds;
        tp.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
        res_.trace.push_back(tp);
        measured_[key] = tp.runtime_s;
        if (s_.options->verbose >= 2) {
            std::cerr << "HARL: measured " << tp.index << ": " << tp.runtime_s * 1e3 << " ms (predicted "
                      << tp.predicted_s * 1e3 << "), best " << tp.best_s * 1e3 << " ms\n";
        }
        return tp.runtime_s;
    }

    void run_rl(const std::vector<std::pair<ScheduleState, double>> &finalists) {
        RlRefiner &rl = *s_.refiner;
        RlRefiner::Schedule sched = rl.initial_schedule();
        for (const auto &f : finalists) {
            if (!budget_left() ||
                (int)res_.trace.size() > std::max(s_.options->measure / 8, s_.options->measure_batch))
                break;
            measure(f.first);
        }
        s_.model->fit();
        int empty_rounds = 0;
        while (budget_left() && sched.stall < 4 * s_.options->rl_patience && empty_rounds < 8) {
            const double before = res_.best_seconds;
            const double start_cost = s_.space->cost(res_.best);
            // Propose: a few episodes from the best measured schedule.
            std::vector<Episode> eps;
            std::vector<std::pair<double, std::pair<int, int>>> pool; // predicted, (episode, visit)
            std::map<std::string, bool> in_pool;
            // Half the episodes from the best measured schedule, half from the runner-up.
            const ScheduleState &second = runner_up();
            const double second_cost = s_.space->cost(second);
            for (int e = 0; e < 4; e++) {
                eps.push_back(e < 2 ? rl.run_episode(res_.best, start_cost, sched.length, sched.temperature)
                                    : rl.run_episode(second, second_cost, sched.length, sched.temperature));
                for (size_t v = 0; v < eps.back().visited.size(); v++) {
                    const ScheduleState &st = eps.back().visited[v].first;
                    std::string key = st.describe();
                    if (seen(st) || in_pool.count(key)) continue;
                    in_pool[key] = true;
                    pool.push_back({eps.back().visited[v].second, {e, (int)v}});
                }
            }
            std::sort(pool.begin(), pool.end());
            std::vector<double> terminal(eps.size(), 0.0);
            int taken = 0;
            for (const auto &p : pool) {
                if (!budget_left() || taken >= s_.options->measure_batch) break;
                const ScheduleState &st = eps[p.second.first].visited[p.second.second].first;
                const double t = measure(st);
                taken++;
                // Measured outcome relative to the best before this round (failures: a penalty).
                double r = t > 0 ? std::log(before / t) : -1.0;
                terminal[p.second.first] = std::max(terminal[p.second.first], r);
            }
            empty_rounds = taken == 0 ? empty_rounds + 1 : 0;
            for (size_t e = 0; e < eps.size(); e++) {
                rl.finish(eps[e], terminal[e]);
                rl.learn(eps[e]);
            }
            s_.model->fit();
            rl.adapt_schedule(sched, res_.best_seconds < before * (1 - 1e-3));
        }
    }

    // The second-fastest measured schedule (the best when only one was measured).
    const ScheduleState &runner_up() const {
        const ScheduleState *second = &res_.best;
        double second_s = 0;
        for (const auto &m : by_time_) {
            if (m.first > res_.best_seconds && (second_s == 0 || m.first < second_s)) {
                second_s = m.first;
                second = &m.second;
            }
        }
        return *second;
    }

    // Candidates from whole searches: random decisions, or greedy with dropout ranked by the model.
    void run_sampling(bool random) {
        int seed = 1, empty_rounds = 0;
        while (budget_left() && empty_rounds < 8) {
            std::vector<std::pair<double, ScheduleState>> round;
            std::map<std::string, bool> in_round;
            const int samples = random ? 1 : 4 * s_.options->measure_batch;
            for (int i = 0; i < samples; i++) {
                HarlOptions o = *s_.options;
                o.seed = s_.options->seed * 100003 + (uint64_t)seed++;
                o.beam_size = 1;
                o.verbose = 0;
                o.time_budget_s = 0; // no hurry: every candidate considered
                if (random)
                    o.randomize = 1.0;
                else
                    o.dropout = 0.5;
                SearchResult sr = beam_search(*s_.graph, o, *s_.machine, *s_.model);
                const std::string key = sr.best.describe();
                if (seen(sr.best) || in_round.count(key)) continue;
                in_round[key] = true;
                round.push_back({s_.space->cost(sr.best), sr.best});
            }
            std::stable_sort(round.begin(), round.end(),
                             [](const auto &a, const auto &b) { return a.first < b.first; });
            int taken = 0;
            for (const auto &c : round) {
                if (!budget_left() || taken >= (random ? 1 : s_.options->measure_batch)) break;
                measure(c.second);
                taken++;
            }
            empty_rounds = taken == 0 ? empty_rounds + 1 : 0;
            s_.model->fit();
        }
    }

    TuneResult finish() {
        res_.measured = (int)res_.trace.size();
        res_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
        return res_;
    }

  private:
    const TuneSetup &s_;
    TuneResult res_;
    std::map<std::string, double> measured_;
    std::vector<std::pair<double, ScheduleState>> by_time_; // successful measurements
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

} // namespace

TuneResult tune_with_measurements(const TuneSetup &setup, const ScheduleState &start,
                                  const std::vector<std::pair<ScheduleState, double>> &finalists) {
    HARL_ASSERT(setup.options->measure > 0, "tuning without a measurement budget");
    Tuning t(setup, start);
    const std::string &strategy = setup.options->tuner;
    // HARL-RL starts from the beam-search schedule: its first measurement. The baselines start
    // from nothing, as they would on their own; the beam schedule is still run first (not
    // counted) because its outputs are the reference every candidate is checked against.
    const bool ok = strategy == "rl" ? t.measure(start) > 0 : setup.measurer->measure(start).ok();
    if (!ok) {
        throw HarlError("HARL_MEASURE: the beam-search schedule itself failed to compile or run in the "
                        "measuring child process (run with HARL_VERBOSE=1 for the message); check that every "
                        "input and Param has estimates HARL can run with, or unset HARL_MEASURE");
    }
    if (strategy == "rl")
        t.run_rl(finalists);
    else if (strategy == "random")
        t.run_sampling(true);
    else if (strategy == "dropout")
        t.run_sampling(false);
    else
        HARL_ASSERT(false, "unknown tuner " << strategy);
    return t.finish();
}

void append_trace_csv(const std::string &path, const std::string &strategy, const std::string &label,
                      const std::vector<TracePoint> &trace) {
    bool fresh = !std::ifstream(path).good();
    std::ofstream out(path, std::ios::app);
    if (!out) throw HarlError("HARL_TRACE=" + path + ": cannot open for appending");
    if (fresh) out << "strategy,pipeline,index,wall_s,runtime_s,best_s,predicted_s,status\n";
    for (const TracePoint &p : trace) {
        out << strategy << "," << label << "," << p.index << "," << p.wall_s << "," << p.runtime_s << ","
            << p.best_s << "," << p.predicted_s << "," << p.status << "\n";
    }
}

} // namespace harl
