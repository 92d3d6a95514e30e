// The paper's predictor (ZipLine, ICDM 2019): the next ends repeat the most
// recent interval between two reports. It does not model the per-round
// overhead, as in the paper; it is the baseline the robust predictors are
// compared with. Internal to ebsp_core; use MakePredictor.
#ifndef EBSP_LIB_CORE_PREDICT_LATEST_INTERVAL_PREDICTOR_H_
#define EBSP_LIB_CORE_PREDICT_LATEST_INTERVAL_PREDICTOR_H_

#include "lib/core/predict/interval_predictor.h"

namespace ebsp::core {

class LatestIntervalPredictor final : public IntervalPredictor {
 public:
  using IntervalPredictor::IntervalPredictor;

 protected:
  void AddInterval(absl::Duration interval) override { interval_ = interval; }
  void AddFirstGap(absl::Duration gap) override { first_gap_ = gap; }
  void AddOverhead(absl::Duration) override {}
  absl::Duration IntervalEstimate() const override { return interval_; }
  absl::Duration FirstGapEstimate() const override { return first_gap_; }
  absl::Duration OverheadEstimate() const override { return absl::ZeroDuration(); }

 private:
  absl::Duration interval_;
  absl::Duration first_gap_;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_LATEST_INTERVAL_PREDICTOR_H_
