#include "lib/core/predict/interval_predictor.h"

#include <algorithm>

namespace ebsp::core {

void IntervalPredictor::StartRound(absl::Time start) {
  round_start_ = start;
  last_arrival_in_round_.reset();
}

void IntervalPredictor::ObserveIteration(absl::Time arrival, absl::Duration compute) {
  spells_.Observe(compute);
  // Arrival times come from the coordinator's monotonic clock; a report can
  // still carry the same instant as the previous one, never an earlier one,
  // but a clamp keeps a caller's mistake from producing negative forecasts.
  if (last_arrival_in_round_.has_value()) {
    const absl::Duration interval =
        std::max(absl::ZeroDuration(), arrival - *last_arrival_in_round_);
    AddInterval(interval);
    TrackSpread(interval);
    if (!spells_.InSpell()) normal_.Add(interval);
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

void IntervalPredictor::TrackSpread(absl::Duration interval) {
  recent_.Add(interval);
  latest_ = interval;
  above_run_ = recent_.count() > 2 && FarAbove(interval, recent_.median(), recent_.spread())
                   ? above_run_ + 1
                   : 0;
}

absl::Duration IntervalPredictor::EpisodeInterval() const {
  return InStragglerEpisode() ? latest_ : TypicalInterval();
}

bool IntervalPredictor::UsesSpells() const {
  if (normal_.count() == 0 || !spells_.Confident()) return false;
  // A straggler episode the schedule did not predict (a random straggler on
  // a periodic worker): the episode's own interval knows better.
  return !InStragglerEpisode() || spells_.NextFactor() > 1;
}

std::vector<absl::Time> IntervalPredictor::LateForecast(int count) const {
  std::optional<std::vector<double>> factors;
  if (UsesSpells()) factors = spells_.Factors(count);
  if (!factors.has_value()) return IterationPredictor::LateForecast(count);
  std::vector<absl::Time> ends;
  ends.reserve(factors->size());
  absl::Time t = ForecastBase();
  for (double factor : *factors) {
    t += factor * normal_.median();
    ends.push_back(t);
  }
  return ends;
}

absl::Duration IntervalPredictor::CurrentInterval() const {
  return UsesSpells() ? spells_.NextFactor() * normal_.median() : EpisodeInterval();
}

absl::Time IntervalPredictor::ForecastBase() const {
  if (last_arrival_in_round_.has_value()) return *last_arrival_in_round_;
  if (round_start_ != absl::InfinitePast()) return round_start_ + RoundOverhead();
  // Never started a round: there is nothing to anchor a forecast to.
  return absl::UnixEpoch();
}

absl::Time IntervalPredictor::NextEnd() const { return ForecastBase() + CurrentInterval(); }

std::vector<absl::Time> IntervalPredictor::Forecast(int count) const {
  std::vector<absl::Time> ends;
  if (count <= 0) return ends;
  ends.reserve(static_cast<size_t>(count));
  const absl::Duration interval = TypicalInterval();
  const absl::Time base = ForecastBase();
  for (int j = 1; j <= count; ++j) ends.push_back(base + j * interval);
  return ends;
}

}  // namespace ebsp::core
