// What one report costs ElasticBSP's policy, n members in the round:
//
//   BM_LateBindingReport/{n}/{R}  late binding (the default): BindTarget,
//       the whole per-report work (late members moved, the reporter's
//       expectation replaced, the decision); O(R log n)
//   BM_PlanReplan/{n}/{R}         plan binding: one drift re-plan of the
//       round (Replan, a full ZipLine run), which the old default ran on a
//       drifting report, rationed per round; O(nR log n)
//   BM_StartRound/{n}/{R}         late binding's round start: ZipLine plus
//       the barrier estimate, once per round
//   BM_ObserveIteration/{h}       the reporter's own predictor learning from
//       the report (intervals, straggler episodes, slow spells), with h per
//       mille of iterations stalled at random and a pause every 250
//       iterations; O(1), a little more when a spell ends
//
// Members run at their own speed (1x to 3x a 100 ms period, 10 % noise) with
// a history of 8 reports, as in a job that has run for a while.
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "lib/core/policy/elastic_bsp_policy.h"
#include "lib/core/policy/policy_config.h"
#include "lib/core/predict/predictor.h"

namespace ebsp::bench {
namespace {

constexpr uint64_t kSeed = 20261201;

struct Round {
  std::vector<std::unique_ptr<core::IterationPredictor>> predictors;
  std::vector<core::RoundMember> members;
  std::vector<absl::Duration> speed;
  absl::Time start = absl::FromUnixSeconds(1'800'000'000);
};

Round MakeRound(int n) {
  Round round;
  std::mt19937_64 rng(kSeed);
  std::uniform_real_distribution<double> speed(1.0, 3.0);
  std::normal_distribution<double> noise(0.0, 0.1);
  const absl::Time past = round.start - absl::Minutes(1);
  for (int i = 0; i < n; ++i) {
    const absl::Duration interval = absl::Milliseconds(100) * speed(rng);
    auto p = core::MakePredictor(core::PredictorKind::kEwma);
    p->StartRound(past);
    absl::Time t = past;
    for (int j = 0; j < 8; ++j) {
      t += interval * (1.0 + noise(rng));
      p->ObserveIteration(t, interval);
    }
    p->StartRound(round.start);
    core::RoundMember m;
    m.id = static_cast<core::WorkerId>(i + 1);
    m.round_start = round.start;
    m.predictor = p.get();
    round.members.push_back(m);
    round.predictors.push_back(std::move(p));
    round.speed.push_back(interval);
  }
  return round;
}

core::PolicyConfig Config(int lookahead, core::TargetBinding binding) {
  core::PolicyConfig config;
  config.lookahead = lookahead;
  config.binding = binding;
  return config;
}

void BM_LateBindingReport(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int r = static_cast<int>(state.range(1));
  Round round = MakeRound(n);
  core::ElasticBspPolicy policy(Config(r, core::TargetBinding::kLate));
  core::RoundTargets targets = policy.StartRound(round.members, round.start);
  for (size_t i = 0; i < round.members.size(); ++i) {
    // Committed to R: every report continues, so the reporter is reinserted
    // and members stay in the estimate (the most expensive path).
    round.members[i].target = r;
    round.members[i].done = 1;
  }
  // Members report in turn, each at its own pace; time runs a little behind
  // so that some members are always late and get moved.
  size_t next = 0;
  int64_t reports = 0;
  absl::Time now = round.start;
  for (auto _ : state) {
    core::RoundMember& m = round.members[next];
    now += absl::Milliseconds(150) / n;
    m.last_report = now;
    std::optional<int> target = policy.BindTarget(m, now);
    benchmark::DoNotOptimize(target);
    next = next + 1 == round.members.size() ? 0 : next + 1;
    ++reports;
  }
  benchmark::DoNotOptimize(targets.planned);
  state.SetItemsProcessed(reports);
}

void BM_PlanReplan(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int r = static_cast<int>(state.range(1));
  Round round = MakeRound(n);
  core::ElasticBspPolicy policy(Config(r, core::TargetBinding::kPlan));
  policy.StartRound(round.members, round.start);
  round.members[0].done = 1;
  const absl::Time now = round.start + absl::Milliseconds(300);
  round.members[0].last_report = now;
  for (auto _ : state) {
    // Replan counts against the per-round budget; a fresh count each time.
    state.PauseTiming();
    policy.StartRound(round.members, round.start);
    state.ResumeTiming();
    std::optional<core::RoundTargets> replanned = policy.Replan(round.members, 0, now);
    benchmark::DoNotOptimize(replanned);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_StartRound(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int r = static_cast<int>(state.range(1));
  Round round = MakeRound(n);
  core::ElasticBspPolicy policy(Config(r, core::TargetBinding::kLate));
  for (auto _ : state) {
    core::RoundTargets targets = policy.StartRound(round.members, round.start);
    benchmark::DoNotOptimize(targets.sync_time);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ObserveIteration(benchmark::State& state) {
  const double hiccup_p = static_cast<double>(state.range(0)) / 1000;
  std::mt19937_64 rng(kSeed);
  std::normal_distribution<double> noise(0, 0.05);
  std::uniform_real_distribution<double> uniform(0, 1);
  // Compute times of 100 ms, 5 % noise; stalls of an extra Pareto(1.5,
  // from 0.5) iterations; a pause of 15 iterations every 250 (the
  // simulator's `heavy` trace, one worker).
  std::vector<absl::Duration> trace(5000);
  for (size_t i = 0; i < trace.size(); ++i) {
    double iterations = std::exp(noise(rng));
    if (uniform(rng) < hiccup_p) iterations += 0.5 / std::pow(1 - uniform(rng), 1 / 1.5);
    if (i % 250 == 249) iterations += 15;
    trace[i] = absl::Milliseconds(100) * iterations;
  }
  std::unique_ptr<core::IterationPredictor> predictor =
      core::MakePredictor(core::PredictorKind::kEwma);  // The default.
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  predictor->StartRound(now);
  size_t next = 0;
  for (auto _ : state) {
    now += trace[next];
    predictor->ObserveIteration(now, trace[next]);
    next = next + 1 == trace.size() ? 0 : next + 1;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ObserveIteration)->Arg(0)->Arg(30)->ArgName("hiccups")->Unit(benchmark::kNanosecond);

void Sizes(benchmark::internal::Benchmark* b) {
  for (const int n : {1000, 10000}) b->Args({n, 15});
  b->ArgNames({"", ""});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_LateBindingReport)->Apply(Sizes);
BENCHMARK(BM_PlanReplan)->Apply(Sizes);
BENCHMARK(BM_StartRound)->Apply(Sizes);

}  // namespace
}  // namespace ebsp::bench

BENCHMARK_MAIN();
