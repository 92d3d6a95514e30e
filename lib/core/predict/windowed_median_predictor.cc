#include "lib/core/predict/windowed_median_predictor.h"

#include <algorithm>
#include <vector>

namespace ebsp::core {

void MedianWindow::Add(absl::Duration sample) {
  samples_.push_back(sample);
  while (samples_.size() > capacity_) samples_.pop_front();
}

absl::Duration MedianWindow::Median() const {
  if (samples_.empty()) return absl::ZeroDuration();
  std::vector<absl::Duration> sorted(samples_.begin(), samples_.end());
  const auto middle = sorted.begin() + static_cast<std::ptrdiff_t>((sorted.size() - 1) / 2);
  std::nth_element(sorted.begin(), middle, sorted.end());
  return *middle;
}

}  // namespace ebsp::core
