// FlatForecast: the planner's working copy of the forecasts, validated and
// turned into int64 Unix nanoseconds, all workers back to back in one buffer.
//
// Comparing int64 keeps ties exact and keeps absl::Time arithmetic out of the
// sweep; one contiguous buffer, reused across calls by its owner, avoids
// allocation in the hot path. Internal to the planner.
#ifndef EBSP_LIB_CORE_PLANNER_FLAT_FORECAST_H_
#define EBSP_LIB_CORE_PLANNER_FLAT_FORECAST_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "lib/core/planner/zipline.h"

namespace ebsp::core::planner_internal {

class FlatForecast {
 public:
  // Validates `workers` (see PlanTargets) and replaces the contents with
  // them. On error the contents are unspecified.
  absl::Status Assign(absl::Span<const WorkerForecast> workers);

  int num_workers() const { return static_cast<int>(begin_.size()) - 1; }
  size_t num_points() const { return points_.size(); }

  // Worker i's points, nondecreasing.
  absl::Span<const int64_t> worker(int i) const {
    return absl::MakeConstSpan(points_.data() + begin_[i], begin_[i + 1] - begin_[i]);
  }
  // All points; worker i's occupy [worker_begin(i), worker_begin(i + 1)).
  const int64_t* points() const { return points_.data(); }
  size_t worker_begin(int i) const { return begin_[i]; }

  // The earliest candidate sync time: before it some worker has no point.
  int64_t max_first() const { return max_first_; }
  // After this time some worker can no longer move its point forward.
  int64_t min_last() const { return min_last_; }
  int64_t min_first() const { return min_first_; }
  int64_t max_last() const { return max_last_; }

 private:
  std::vector<int64_t> points_;
  std::vector<size_t> begin_;
  int64_t max_first_ = 0;
  int64_t min_last_ = 0;
  int64_t min_first_ = 0;
  int64_t max_last_ = 0;
};

}  // namespace ebsp::core::planner_internal

#endif  // EBSP_LIB_CORE_PLANNER_FLAT_FORECAST_H_
