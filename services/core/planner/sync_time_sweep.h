// The ZipLine sweep: walks the candidate sync times t* of a FlatForecast in
// time order and returns the earliest one that minimizes the objective.
//
// For a candidate t every worker's point is its latest one not after t (the
// best choice for both objectives once t is fixed). Workers ordered by that
// point are workers ordered by when their point last moved, since a point
// only moves to the current t; so the minimum is the front of a
// least-recently-moved list, O(1) per point, and the sum is a running total.
// The time order comes from a min-heap over the n sorted lists: O(nR log n),
// no global sort. Internal to the planner.
#ifndef EBSP_SERVICES_CORE_PLANNER_SYNC_TIME_SWEEP_H_
#define EBSP_SERVICES_CORE_PLANNER_SYNC_TIME_SWEEP_H_

#include <cstdint>
#include <vector>

#include "services/core/planner/flat_forecast.h"
#include "services/core/planner/zipline.h"

namespace ebsp::core::planner_internal {

// Reusable buffers, so repeated sweeps do not allocate. Not thread-safe: one
// per thread.
class SyncTimeSweep {
 public:
  // Returns the earliest t* (one of the points, >= forecast.max_first()) with
  // the smallest objective value. `forecast` must hold at least one worker.
  int64_t FindSyncTime(const FlatForecast& forecast, PlanObjective objective);

 private:
  struct HeapEntry {
    int64_t value;   // The worker's next point not yet swept.
    int32_t worker;
  };
  void SiftDown(size_t hole, size_t size);

  std::vector<HeapEntry> heap_;
  std::vector<size_t> cursor_;     // Index (in points()) of the heap's point.
  std::vector<int64_t> latest_;    // Latest swept point of each worker.
  // Doubly linked list of workers by when their point last moved, oldest
  // first; index n is the sentinel.
  std::vector<int32_t> prev_;
  std::vector<int32_t> next_;
};

}  // namespace ebsp::core::planner_internal

#endif  // EBSP_SERVICES_CORE_PLANNER_SYNC_TIME_SWEEP_H_
