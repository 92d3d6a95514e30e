#include "lib/core/planner/zipline.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "lib/core/planner/flat_forecast.h"
#include "lib/core/planner/sync_time_sweep.h"

namespace ebsp::core {
namespace {

using planner_internal::FlatForecast;
using planner_internal::SyncTimeSweep;

// Buffers reused by every call on this thread: PlanTargets stays a pure
// function while the hot path does not allocate once warmed up.
struct PlannerScratch {
  FlatForecast forecast;
  SyncTimeSweep sweep;
};

PlannerScratch& ThreadScratch() {
  thread_local PlannerScratch scratch;
  return scratch;
}

}  // namespace

absl::StatusOr<Plan> PlanTargets(absl::Span<const WorkerForecast> workers, PlanObjective objective,
                                 absl::Time round_start) {
  const bool has_start =
      round_start != absl::InfinitePast() && round_start != absl::InfiniteFuture();
  if (objective == PlanObjective::kIdleRate && !has_start) {
    return absl::InvalidArgumentError("the idle_rate objective needs a finite round start");
  }
  PlannerScratch& scratch = ThreadScratch();
  if (absl::Status s = scratch.forecast.Assign(workers); !s.ok()) return s;
  const int64_t start_ns = has_start ? absl::ToUnixNanos(round_start) : 0;
  const int64_t sync_ns = scratch.sweep.FindSyncTime(scratch.forecast, objective, start_ns);

  Plan plan;
  plan.targets.resize(workers.size());
  // The chosen ends are read back from the caller's absl::Time values, so the
  // reported times and durations are exact, not rebuilt from nanoseconds.
  absl::Time sync_time = absl::InfinitePast();
  absl::Time earliest_chosen = absl::InfiniteFuture();
  for (size_t i = 0; i < workers.size(); ++i) {
    const absl::Span<const int64_t> points = scratch.forecast.worker(static_cast<int>(i));
    // The latest point not after t*; one exists because t* >= max_first.
    const size_t j = static_cast<size_t>(std::upper_bound(points.begin(), points.end(), sync_ns) -
                                         points.begin() - 1);
    plan.targets[i] = workers[i].done + 1 + static_cast<int>(j);
    sync_time = std::max(sync_time, workers[i].ends[j]);
    earliest_chosen = std::min(earliest_chosen, workers[i].ends[j]);
  }
  plan.sync_time = sync_time;
  plan.spread = sync_time - earliest_chosen;
  plan.total_wait = absl::ZeroDuration();
  for (size_t i = 0; i < workers.size(); ++i) {
    const size_t j = static_cast<size_t>(plan.targets[i] - workers[i].done - 1);
    plan.total_wait += sync_time - workers[i].ends[j];
  }
  if (has_start && sync_time > round_start) {
    plan.idle_rate = absl::FDivDuration(
        plan.total_wait, static_cast<double>(workers.size()) * (sync_time - round_start));
  }
  return plan;
}

}  // namespace ebsp::core
