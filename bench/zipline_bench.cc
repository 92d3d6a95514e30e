// ZipLine planning time against the cost of merely sorting the same n*R
// points, on realistic heterogeneous forecasts.
//
//   BM_PlanTargets/{spread,total_wait,idle_rate}/{n}/{R}
//   BM_SortPoints/{n}/{R}   copy + std::sort of the n*R int64 points
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/realistic_forecast.h"
#include "benchmark/benchmark.h"
#include "lib/core/planner/zipline.h"

namespace ebsp::bench {
namespace {

constexpr uint64_t kSeed = 20260101;

void BM_PlanTargets(benchmark::State& state, core::PlanObjective objective) {
  const int n = static_cast<int>(state.range(0));
  const int r = static_cast<int>(state.range(1));
  const std::vector<core::WorkerForecast> forecast = RealisticForecast(n, r, kSeed);
  for (auto _ : state) {
    // The forecasts start at the round's release (realistic_forecast.cc).
    absl::StatusOr<core::Plan> plan =
        core::PlanTargets(forecast, objective, absl::FromUnixSeconds(1'800'000'000));
    if (!plan.ok()) {
      state.SkipWithError(std::string(plan.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(plan->sync_time);
  }
  state.SetItemsProcessed(state.iterations() * n * r);
}

void BM_SortPoints(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int r = static_cast<int>(state.range(1));
  const std::vector<int64_t> points = FlattenToNanos(RealisticForecast(n, r, kSeed));
  std::vector<int64_t> scratch;
  for (auto _ : state) {
    scratch = points;  // The copy is part of the baseline, as it is of planning.
    std::sort(scratch.begin(), scratch.end());
    benchmark::DoNotOptimize(scratch.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n * r);
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (const int n : {10, 100, 1000, 4096}) {
    for (const int r : {15, 150}) b->Args({n, r});
  }
  b->ArgNames({"", ""});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_PlanTargets, spread, core::PlanObjective::kSpread)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_PlanTargets, total_wait, core::PlanObjective::kTotalWait)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_PlanTargets, idle_rate, core::PlanObjective::kIdleRate)->Apply(Sizes);
BENCHMARK(BM_SortPoints)->Apply(Sizes);

}  // namespace
}  // namespace ebsp::bench

BENCHMARK_MAIN();
