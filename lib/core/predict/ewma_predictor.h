// Exponentially weighted moving average of intervals, plus an EWMA of the
// per-round overhead o_i. Smooths noise while following slow drifts (a
// worker that heats up or shares its GPU). Internal to ebsp_core; use
// MakePredictor.
#ifndef EBSP_LIB_CORE_PREDICT_EWMA_PREDICTOR_H_
#define EBSP_LIB_CORE_PREDICT_EWMA_PREDICTOR_H_

#include <optional>

#include "lib/core/predict/interval_predictor.h"

namespace ebsp::core {

// Weight of the newest sample. 0.3 follows a step change within ~5 samples
// yet halves the effect of a single outlier within two.
inline constexpr double kEwmaWeight = 0.3;

class EwmaPredictor final : public IntervalPredictor {
 public:
  using IntervalPredictor::IntervalPredictor;

 protected:
  void AddInterval(absl::Duration interval) override { Update(interval_, interval); }
  void AddFirstGap(absl::Duration gap) override { Update(first_gap_, gap); }
  void AddOverhead(absl::Duration overhead) override { Update(overhead_, overhead); }
  absl::Duration IntervalEstimate() const override { return Get(interval_); }
  absl::Duration FirstGapEstimate() const override { return Get(first_gap_); }
  absl::Duration OverheadEstimate() const override { return Get(overhead_); }

 private:
  static void Update(std::optional<absl::Duration>& mean, absl::Duration sample) {
    mean = mean.has_value() ? *mean + kEwmaWeight * (sample - *mean) : sample;
  }
  static absl::Duration Get(const std::optional<absl::Duration>& mean) {
    return mean.value_or(absl::ZeroDuration());
  }

  std::optional<absl::Duration> interval_;
  std::optional<absl::Duration> first_gap_;
  std::optional<absl::Duration> overhead_;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_EWMA_PREDICTOR_H_
