#include "services/core/planner/sync_time_sweep.h"

#include <cstddef>
#include <cstdint>
#include <limits>

namespace ebsp::core::planner_internal {
namespace {

constexpr int32_t kNotListed = -1;

}  // namespace

void SyncTimeSweep::SiftDown(size_t hole, size_t size) {
  const HeapEntry moving = heap_[hole];
  // Bounded: `hole` at least doubles each step.
  while (true) {
    size_t child = 2 * hole + 1;
    if (child >= size) break;
    if (child + 1 < size && heap_[child + 1].value < heap_[child].value) {
      ++child;
    }
    if (heap_[child].value >= moving.value) break;
    heap_[hole] = heap_[child];
    hole = child;
  }
  heap_[hole] = moving;
}

int64_t SyncTimeSweep::FindSyncTime(const FlatForecast& forecast,
                                    PlanObjective objective) {
  const int n = forecast.num_workers();
  const int64_t* points = forecast.points();
  heap_.resize(n);
  cursor_.resize(n);
  latest_.resize(n);
  prev_.assign(n + 1, kNotListed);
  next_.resize(n + 1);
  const int32_t sentinel = n;
  prev_[sentinel] = sentinel;
  next_[sentinel] = sentinel;
  for (int i = 0; i < n; ++i) {
    cursor_[i] = forecast.worker_begin(i);
    heap_[i] = HeapEntry{points[cursor_[i]], i};
  }
  for (size_t i = static_cast<size_t>(n) / 2; i-- > 0;) SiftDown(i, n);

  size_t heap_size = n;
  int covered = 0;     // Workers with at least one swept point.
  __int128 sum = 0;    // Sum of the covered workers' latest points.
  __int128 best = std::numeric_limits<__int128>::max();
  int64_t best_time = forecast.max_first();
  const int64_t min_last = forecast.min_last();
  // Bounded: every inner step consumes one point.
  while (heap_size > 0) {
    const int64_t t = heap_[0].value;
    // Past min_last the worker that owns it is stuck, so every later t costs
    // at least t - min_last for both objectives; ties go to the earliest t.
    if (covered == n && static_cast<__int128>(t) - min_last >= best) break;
    // All points equal to t first: a worker's latest point <= t includes them.
    do {
      const int32_t w = heap_[0].worker;
      if (prev_[w] == kNotListed) {
        ++covered;
        sum += t;
      } else {
        sum += t - latest_[w];
        next_[prev_[w]] = next_[w];
        prev_[next_[w]] = prev_[w];
      }
      latest_[w] = t;
      prev_[w] = prev_[sentinel];
      next_[w] = sentinel;
      next_[prev_[sentinel]] = w;
      prev_[sentinel] = w;

      const size_t c = ++cursor_[w];
      if (c < forecast.worker_begin(w + 1)) {
        heap_[0].value = points[c];
      } else {
        heap_[0] = heap_[--heap_size];
      }
      if (heap_size > 0) SiftDown(0, heap_size);
    } while (heap_size > 0 && heap_[0].value == t);

    if (covered == n) {
      const __int128 value = objective == PlanObjective::kSpread
                                 ? static_cast<__int128>(t) - latest_[next_[sentinel]]
                                 : static_cast<__int128>(n) * t - sum;
      if (value < best) {
        best = value;
        best_time = t;
      }
    }
  }
  return best_time;
}

}  // namespace ebsp::core::planner_internal
