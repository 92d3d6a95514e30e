// Robust center and spread of a few recent durations: the median and 1.4826
// x the median absolute deviation (a standard deviation for normal noise
// that a few outliers do not move), of an array or of a sliding window.
// Header only; part of ebsp_core.
#ifndef EBSP_LIB_CORE_PREDICT_ROBUST_STATS_H_
#define EBSP_LIB_CORE_PREDICT_ROBUST_STATS_H_

#include <algorithm>
#include <array>
#include <cstddef>

#include "absl/time/time.h"

namespace ebsp::core {

struct RobustStats {
  absl::Duration median;
  absl::Duration spread;
};

// Of the first `count` (1 to N) samples; the lower middle for an even count.
template <size_t N>
RobustStats RobustStatsOf(std::array<absl::Duration, N> samples, size_t count) {
  const auto end = samples.begin() + static_cast<std::ptrdiff_t>(count);
  const auto middle = samples.begin() + static_cast<std::ptrdiff_t>((count - 1) / 2);
  std::nth_element(samples.begin(), middle, end);
  const absl::Duration median = *middle;
  for (auto it = samples.begin(); it != end; ++it) *it = absl::AbsDuration(*it - median);
  std::nth_element(samples.begin(), middle, end);
  return RobustStats{median, 1.4826 * *middle};
}

// The last N durations and their robust stats, refreshed at every Add.
template <size_t N>
class RobustWindow {
 public:
  void Add(absl::Duration sample) {
    ring_[next_] = sample;
    next_ = (next_ + 1) % N;
    count_ = std::min(count_ + 1, N);
    stats_ = RobustStatsOf(ring_, count_);
  }
  // Forgets every sample (the stats stay until the next Add).
  void Clear() {
    count_ = 0;
    next_ = 0;
  }
  size_t count() const { return count_; }
  absl::Duration median() const { return stats_.median; }
  absl::Duration spread() const { return stats_.spread; }

 private:
  std::array<absl::Duration, N> ring_{};
  size_t count_ = 0;
  size_t next_ = 0;
  RobustStats stats_;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_ROBUST_STATS_H_
