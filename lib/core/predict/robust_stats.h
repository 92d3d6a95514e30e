// Robust center and spread of a few recent durations: the median and 1.4826
// x the median absolute deviation (a standard deviation for normal noise
// that a few outliers do not move). Header only; part of ebsp_core.
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

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_ROBUST_STATS_H_
