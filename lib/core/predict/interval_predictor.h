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

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/predict/predictor.h"
#include "lib/core/predict/robust_stats.h"
#include "lib/core/predict/slow_spells.h"

namespace ebsp::core {

// Uncertainty of the intervals (for late binding, docs/planning.md): the
// spread is measured over this many recent intervals, whatever the subclass.
inline constexpr size_t kSpreadWindow = 16;
// A straggler episode: this many intervals in a row, each far above the
// window's median (FarAbove, slow_spells.h). Two, so one hiccup (a GC pause,
// a slow batch) is not taken for an episode; during one the latest interval
// is the forecast, and the window's median follows a lasting change after
// kSpreadWindow / 2 intervals.
inline constexpr int kEpisodeRun = 2;

class IntervalPredictor : public IterationPredictor {
 public:
  // `spell_book` (may be null) is the job's (slow_spells.h).
  explicit IntervalPredictor(std::shared_ptr<SpellBook> spell_book = nullptr)
      : spells_(std::move(spell_book)) {}

  void StartRound(absl::Time start) final;
  void ObserveIteration(absl::Time arrival, absl::Duration compute) final;
  // The paper's rule: forecasts need two reports. Until an interval inside a
  // round has been seen, the first gaps of rounds stand in for the interval
  // (BSP rounds have a single report each).
  bool HasHistory() const final { return reports_total_ >= 2; }
  std::vector<absl::Time> Forecast(int count) const final;
  absl::Duration TypicalInterval() const final;
  absl::Duration RoundOverhead() const final;
  // With a slow-spell schedule (slow_spells.h), the next iterations are
  // forecast at the normal interval (the median of recent intervals outside
  // spells) times each one's predicted factor; otherwise as
  // IterationPredictor's.
  std::vector<absl::Time> LateForecast(int count) const final;
  absl::Duration CurrentInterval() const final;
  absl::Duration IntervalSpread() const final { return recent_.spread(); }
  absl::Time NextEnd() const final;
  bool InStragglerEpisode() const final { return above_run_ >= kEpisodeRun; }

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
  // Adds `interval` to recent_ and refreshes latest_ and above_run_.
  void TrackSpread(absl::Duration interval);
  // The interval of the next iteration without a spell schedule: the
  // latest during a straggler episode, else the typical one.
  absl::Duration EpisodeInterval() const;
  // Whether forecasts follow the spell schedule: there is one, and no
  // straggler episode off it is running.
  bool UsesSpells() const;
  // Where the next forecast starts: the latest report of the round, else the
  // round start plus the overhead.
  absl::Time ForecastBase() const;

  absl::Time round_start_ = absl::InfinitePast();
  std::optional<absl::Time> last_arrival_in_round_;
  int64_t reports_total_ = 0;
  int64_t intervals_seen_ = 0;
  int64_t first_gaps_seen_ = 0;

  RobustWindow<kSpreadWindow> recent_;  // Recent intervals.
  absl::Duration latest_;               // The latest interval.
  int above_run_ = 0;                   // Latest intervals in a row far above recent_'s median.
  SlowSpells spells_;                   // From the reported compute times.
  // Recent intervals of iterations outside spells: their median is the
  // interval a spell's factor multiplies (a long spell would move recent_'s).
  RobustWindow<kSpreadWindow> normal_;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_INTERVAL_PREDICTOR_H_
