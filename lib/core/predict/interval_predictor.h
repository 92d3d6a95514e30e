// Shared bookkeeping of the three iteration predictors: it splits each
// worker's report arrivals into intervals between consecutive reports of a
// round and the first gap of a round (round overhead o_i + one interval), and
// lets a subclass say how it summarizes those samples.
//
// Why the split: right after a barrier releases, the training stack runs its
// own synchronization (all-reduce, parameter-server pull) before the first
// iteration of the new round, and a worker registering mid-round waits at the
// barrier first. Counting those gaps as intervals would make every worker
// look slower than it is, so a gap from the round start is never used as an
// interval once real intervals exist; it only measures the overhead.
//
// Internal to ebsp_core; use MakePredictor (predictor.h).
#ifndef EBSP_LIB_CORE_PREDICT_INTERVAL_PREDICTOR_H_
#define EBSP_LIB_CORE_PREDICT_INTERVAL_PREDICTOR_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/predict/predictor.h"

namespace ebsp::core {

class IntervalPredictor : public IterationPredictor {
 public:
  void StartRound(absl::Time start) final;
  void ObserveIteration(absl::Time arrival, absl::Duration compute) final;
  // The paper's rule: forecasts need two reports. Until an interval inside a
  // round has been seen, the first gaps of rounds stand in for the interval
  // (BSP rounds have a single report each).
  bool HasHistory() const final { return reports_total_ >= 2; }
  std::vector<absl::Time> Forecast(int count) const final;
  absl::Duration TypicalInterval() const final;
  absl::Duration RoundOverhead() const final;

 protected:
  // Summaries of the samples seen so far; called only when a sample exists.
  virtual void AddInterval(absl::Duration interval) = 0;
  virtual void AddFirstGap(absl::Duration gap) = 0;
  virtual void AddOverhead(absl::Duration overhead) = 0;
  virtual absl::Duration IntervalEstimate() const = 0;
  virtual absl::Duration FirstGapEstimate() const = 0;
  // Zero when the predictor does not model the overhead.
  virtual absl::Duration OverheadEstimate() const = 0;

 private:
  absl::Time round_start_ = absl::InfinitePast();
  std::optional<absl::Time> last_arrival_in_round_;
  int64_t reports_total_ = 0;
  int64_t intervals_seen_ = 0;
  int64_t first_gaps_seen_ = 0;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_INTERVAL_PREDICTOR_H_
