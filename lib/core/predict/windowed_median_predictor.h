// Median of a window of recent intervals, plus the median of recent
// per-round overheads. Unlike a mean, one spike (a GC pause, a checkpoint
// write) does not move the forecast at all. Internal to ebsp_core; use
// MakePredictor.
#ifndef EBSP_LIB_CORE_PREDICT_WINDOWED_MEDIAN_PREDICTOR_H_
#define EBSP_LIB_CORE_PREDICT_WINDOWED_MEDIAN_PREDICTOR_H_

#include <cstddef>
#include <deque>

#include "lib/core/predict/interval_predictor.h"

namespace ebsp::core {

// Odd, so the median is a sample; 9 outvotes up to 4 spikes in a row.
inline constexpr size_t kMedianIntervalWindow = 9;
// Overheads come once per round, so a shorter window keeps them current.
inline constexpr size_t kMedianOverheadWindow = 5;

// A bounded window of recent samples and their median.
class MedianWindow {
 public:
  explicit MedianWindow(size_t capacity) : capacity_(capacity) {}
  void Add(absl::Duration sample);
  // Zero when empty; the lower middle element for an even count.
  absl::Duration Median() const;

 private:
  size_t capacity_;
  std::deque<absl::Duration> samples_;
};

class WindowedMedianPredictor final : public IntervalPredictor {
 public:
  using IntervalPredictor::IntervalPredictor;

 protected:
  void AddInterval(absl::Duration interval) override { intervals_.Add(interval); }
  void AddFirstGap(absl::Duration gap) override { first_gaps_.Add(gap); }
  void AddOverhead(absl::Duration overhead) override { overheads_.Add(overhead); }
  absl::Duration IntervalEstimate() const override { return intervals_.Median(); }
  absl::Duration FirstGapEstimate() const override { return first_gaps_.Median(); }
  absl::Duration OverheadEstimate() const override { return overheads_.Median(); }

 private:
  MedianWindow intervals_{kMedianIntervalWindow};
  MedianWindow first_gaps_{kMedianOverheadWindow};
  MedianWindow overheads_{kMedianOverheadWindow};
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_WINDOWED_MEDIAN_PREDICTOR_H_
