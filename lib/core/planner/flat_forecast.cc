#include "lib/core/planner/flat_forecast.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace ebsp::core::planner_internal {
namespace {

constexpr int64_t kMinNanos = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxNanos = std::numeric_limits<int64_t>::max();

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

}  // namespace

absl::Status FlatForecast::Assign(absl::Span<const WorkerForecast> workers) {
  if (workers.empty()) {
    return absl::InvalidArgumentError("PlanTargets needs at least one worker forecast, got none");
  }
  size_t total = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    const WorkerForecast& w = workers[i];
    if (w.done < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker ", i, " has done = ", w.done, "; it must be >= 0"));
    }
    if (w.ends.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker ", i, " (done = ", w.done,
                       ") has no predicted ends; every worker needs at least one"));
    }
    // Targets are int: done + ends.size() must fit.
    if (w.ends.size() > static_cast<size_t>(std::numeric_limits<int>::max() - w.done)) {
      return absl::InvalidArgumentError(absl::StrCat("worker ", i, ": done = ", w.done, " plus ",
                                                     w.ends.size(),
                                                     " ends overflows the target type"));
    }
    total += w.ends.size();
  }

  points_.resize(total);
  begin_.resize(workers.size() + 1);
  int64_t* out = points_.data();
  int64_t max_first = kMinNanos;
  int64_t min_last = kMaxNanos;
  int64_t min_first = kMaxNanos;
  int64_t max_last = kMinNanos;
  for (size_t i = 0; i < workers.size(); ++i) {
    begin_[i] = static_cast<size_t>(out - points_.data());
    const std::vector<absl::Time>& ends = workers[i].ends;
    int64_t previous_ns = kMinNanos;
    for (size_t j = 0; j < ends.size(); ++j) {
      const absl::Time t = ends[j];
      // ToUnixNanos saturates outside about 1678..2262 (and for the infinite
      // times); a saturated value would silently merge distinct points.
      const int64_t ns = absl::ToUnixNanos(t);
      if (ns == kMinNanos || ns == kMaxNanos) {
        return absl::InvalidArgumentError(
            absl::StrCat("worker ", i, "'s predicted end ", j, " (", TimeText(t),
                         ") is outside the planner's range of int64 Unix nanoseconds"));
      }
      // Flooring to nanoseconds keeps the order, so only equal nanoseconds
      // need the exact (sub-nanosecond) comparison.
      if (ns < previous_ns || (ns == previous_ns && t < ends[j - 1])) {
        return absl::InvalidArgumentError(
            absl::StrCat("worker ", i, "'s predicted ends decrease at index ", j, ": ", TimeText(t),
                         " after ", TimeText(ends[j - 1])));
      }
      previous_ns = ns;
      *out++ = ns;
    }
    const int64_t first = points_[begin_[i]];
    const int64_t last = out[-1];
    max_first = std::max(max_first, first);
    min_first = std::min(min_first, first);
    min_last = std::min(min_last, last);
    max_last = std::max(max_last, last);
  }
  begin_[workers.size()] = total;
  // Differences of two points must fit int64 for the sweep.
  if (static_cast<__int128>(max_last) - min_first > kMaxNanos) {
    return absl::InvalidArgumentError(
        absl::StrCat("predicted ends span from ", TimeText(absl::FromUnixNanos(min_first)), " to ",
                     TimeText(absl::FromUnixNanos(max_last)),
                     ", more than the planner's range of int64 nanoseconds"));
  }
  max_first_ = max_first;
  min_last_ = min_last;
  min_first_ = min_first;
  max_last_ = max_last;
  return absl::OkStatus();
}

}  // namespace ebsp::core::planner_internal
