#include "lib/core/predict/interval_predictor.h"

#include <algorithm>

namespace ebsp::core {

void IntervalPredictor::StartRound(absl::Time start) {
  round_start_ = start;
  last_arrival_in_round_.reset();
}

void IntervalPredictor::ObserveIteration(absl::Time arrival, absl::Duration /*compute*/) {
  // Arrival times come from the coordinator's monotonic clock; a report can
  // still carry the same instant as the previous one, never an earlier one,
  // but a clamp keeps a caller's mistake from producing negative forecasts.
  if (last_arrival_in_round_.has_value()) {
    AddInterval(std::max(absl::ZeroDuration(), arrival - *last_arrival_in_round_));
    ++intervals_seen_;
  } else if (round_start_ != absl::InfinitePast()) {
    const absl::Duration gap = std::max(absl::ZeroDuration(), arrival - round_start_);
    AddFirstGap(gap);
    ++first_gaps_seen_;
    // With an interval estimate the gap splits into overhead + interval;
    // without one it cannot be split yet.
    if (intervals_seen_ > 0) {
      AddOverhead(std::max(absl::ZeroDuration(), gap - IntervalEstimate()));
    }
  }
  last_arrival_in_round_ = arrival;
  ++reports_total_;
}

absl::Duration IntervalPredictor::TypicalInterval() const {
  if (!HasHistory()) return absl::ZeroDuration();
  if (intervals_seen_ > 0) return IntervalEstimate();
  if (first_gaps_seen_ > 0) return FirstGapEstimate();
  return absl::ZeroDuration();
}

absl::Duration IntervalPredictor::RoundOverhead() const {
  if (intervals_seen_ == 0) return absl::ZeroDuration();
  return OverheadEstimate();
}

std::vector<absl::Time> IntervalPredictor::Forecast(int count) const {
  std::vector<absl::Time> ends;
  if (count <= 0) return ends;
  ends.reserve(static_cast<size_t>(count));
  const absl::Duration interval = TypicalInterval();
  absl::Time base;
  if (last_arrival_in_round_.has_value()) {
    base = *last_arrival_in_round_;
  } else if (round_start_ != absl::InfinitePast()) {
    base = round_start_ + RoundOverhead();
  } else {
    // Never started a round: there is nothing to anchor a forecast to.
    base = absl::UnixEpoch();
  }
  for (int j = 1; j <= count; ++j) ends.push_back(base + j * interval);
  return ends;
}

}  // namespace ebsp::core
