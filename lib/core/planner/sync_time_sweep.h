// The ZipLine sweep: walks the candidate sync times t* of a FlatForecast in
// time order and returns the earliest one that minimizes the objective.
//
// For a candidate t every worker's point is its latest one not after t (the
// best choice for both objectives once t is fixed). Workers ordered by that
// point are workers ordered by when their point last moved, since a point
// only moves to the current t; so the minimum is the front of a
// least-recently-moved list, O(1) per point, and the sum is a running total.
//
// The time order comes from one of two sources, neither a global sort:
// - slabs: time is cut into slabs of about 4n points; each slab gathers its
//   points from the n sorted lists and orders them by a counting sort on
//   their position in the slab (O(1) per point when the points are spread
//   roughly evenly, as forecasts of iteration ends are);
// - a min-heap over the n sorted lists, O(nR log n) whatever the input: used
//   for small inputs and whenever a slab turns out much denser than planned.
// Both stop once a lower bound on every later candidate reaches the best
// value found. Internal to the planner.
#ifndef EBSP_LIB_CORE_PLANNER_SYNC_TIME_SWEEP_H_
#define EBSP_LIB_CORE_PLANNER_SYNC_TIME_SWEEP_H_

#include <cstdint>
#include <vector>

#include "lib/core/planner/flat_forecast.h"
#include "lib/core/planner/zipline.h"

namespace ebsp::core::planner_internal {

// Reusable buffers, so repeated sweeps do not allocate. Not thread-safe: one
// per thread.
class SyncTimeSweep {
 public:
  enum class Order { kSlabs, kHeap };

  // Returns the earliest t* (one of the points, >= forecast.max_first()) with
  // the smallest objective value. `forecast` must hold at least one worker.
  // kIdleRate divides by t* - round_start_ns and considers only t* after it.
  int64_t FindSyncTime(const FlatForecast& forecast, PlanObjective objective,
                       int64_t round_start_ns = 0);
  // The same with the heap order only, for tests that compare the two.
  int64_t FindSyncTimeByHeap(const FlatForecast& forecast, PlanObjective objective,
                             int64_t round_start_ns = 0);
  // Which order the last FindSyncTime used.
  Order last_order() const { return last_order_; }

 private:
  struct Event {
    int64_t value;
    int32_t worker;
    uint32_t bucket;  // Slabs only: the value's bucket within its slab.
  };

  // The sweep's state: each worker's latest point, their order, the sum.
  void Reset(const FlatForecast& forecast, PlanObjective objective, int64_t round_start_ns);
  // kIdleRate: whether num / den < best_num_ / best_den_ (dens positive).
  bool IdleRateBelowBest(__int128 num, __int128 den) const {
    return num * best_den_ < best_num_ * den;
  }
  void Advance(int32_t worker, int64_t t);
  void Offer(int64_t t);
  void MarkExhausted(int64_t last);
  bool NoLaterCandidateCanWin(int64_t t) const;

  void HeapSweep(const FlatForecast& forecast);
  // Returns false, with the state unspecified, when a slab is too dense.
  bool SlabSweep(const FlatForecast& forecast);
  // Orders the first m events_ into sorted_, given bucket_start_[b + 1] =
  // the number of them in bucket b.
  void SortSlab(size_t m, size_t buckets);
  // The objective at t = max_first, computed directly: an upper bound on
  // the optimum that bounds how far the sweep can usefully go.
  __int128 ValueAtFirstCandidate(const FlatForecast& forecast) const;

  Order last_order_ = Order::kHeap;
  PlanObjective objective_ = PlanObjective::kSpread;
  int n_ = 0;
  int covered_ = 0;             // Workers with at least one swept point.
  __int128 sum_ = 0;            // Sum of the covered workers' latest points.
  int exhausted_ = 0;           // Workers whose last point has been swept.
  __int128 exhausted_sum_ = 0;  // Sum of those last points.
  int64_t min_last_ = 0;
  __int128 best_ = 0;
  int64_t best_time_ = 0;
  // kIdleRate: the best value as a fraction (exact comparisons, no floating
  // point), and the round start.
  int64_t round_start_ = 0;
  bool have_best_rate_ = false;
  __int128 best_num_ = 0;
  __int128 best_den_ = 1;
  std::vector<int64_t> latest_;
  // Doubly linked list of workers by when their point last moved, oldest
  // first; index n is the sentinel.
  std::vector<int32_t> prev_;
  std::vector<int32_t> next_;

  std::vector<size_t> cursor_;  // Next unswept point of each worker.
  std::vector<Event> heap_;
  std::vector<int32_t> active_;  // Workers with points left, for slabs.
  std::vector<Event> events_;    // One slab's points, in gather order.
  std::vector<Event> sorted_;    // The same, in time order.
  std::vector<uint32_t> bucket_start_;
};

}  // namespace ebsp::core::planner_internal

#endif  // EBSP_LIB_CORE_PLANNER_SYNC_TIME_SWEEP_H_
