// SlowSpells: recurring slow spells of one worker (docs/planning.md,
// "Recurring slowdowns"), learned from the compute times it reports, so that
// a spell that comes back on schedule is forecast before it starts.
//
// Why: with a thousand workers, the slowdown nobody forecasts is the one
// that begins during a member's last iteration of a round; the barrier then
// waits for that iteration at two or three times its length. Many slowdowns
// in training clusters recur on a schedule: a checkpoint or an evaluation
// every N iterations, a co-located job or an agent waking every few minutes
// of the worker's own compute. Those can be seen coming.
//
// A spell is a run of iterations whose compute time is far above the
// worker's normal one (FarAbove, the test of a straggler episode). Spell
// starts are placed on two timelines: the worker's iteration count, and its
// cumulative reported compute time (waiting at barriers does not advance it,
// so the worker's own schedule is not blurred by the rounds). A timeline has
// a schedule once kSpellsToLearn spells in a row are evenly spaced and alike
// in length and slowdown factor (random hiccups, heavy-tailed, rarely are)
// with normal speed between them, or once one spell is like those of
// kSpellBookQuorum schedules other workers of the job found (SpellBook).
// On the iteration count, kSpacedSpellsToLearn alike spells exactly evenly
// spaced make one also with other spells between them (a checkpoint every
// N iterations amid random data-loader hiccups); three such spells are
// already a record in the book. The schedule expects the next spell one
// period after the last, as long as the last, as slow. A spell off the
// period (a random straggler on a periodic worker) is ignored; a predicted
// spell that does not come costs the schedule until it is found again.
// Without a schedule nothing changes: forecasts are those of the predictor.
//
// Bounded: kSpellHistory spells and kSpacedCandidates spacings on the
// iteration count, three spells per timeline, a ring of kSpellNormalWindow
// normal compute times; O(1) per iteration (O(kSpellHistory x
// kSpacedCandidates) when a spell ends, O(kSpellBookSize) when the book
// changed) and O(count) per forecast. Internal to ebsp_core; owned by
// IntervalPredictor, not thread-safe.
#ifndef EBSP_LIB_CORE_PREDICT_SLOW_SPELLS_H_
#define EBSP_LIB_CORE_PREDICT_SLOW_SPELLS_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/predict/robust_stats.h"
#include "lib/core/predict/spell_book.h"

namespace ebsp::core {

// The test for an iteration far slower than usual, shared by straggler
// episodes and slow spells: above the median by more than kEpisodeSigmas
// robust spreads and by more than kEpisodeFraction of the median.
inline constexpr double kEpisodeSigmas = 4.0;
inline constexpr double kEpisodeFraction = 0.5;
inline bool FarAbove(absl::Duration value, absl::Duration median, absl::Duration spread) {
  return value > median + std::max(kEpisodeSigmas * spread, kEpisodeFraction * median);
}

// Spells in a row, alike and evenly spaced, that make a schedule from a
// worker's own evidence: two of several iterations each, three when one
// of them is a single iteration (hiccups and pauses come often at random).
inline constexpr size_t kSpellsToLearn = 2;
inline constexpr size_t kShortSpellsToLearn = 3;
// On the iteration count, alike spells at exactly even spacing make a
// schedule also when other spells fall between them (a checkpoint every N
// iterations amid random data-loader hiccups): four, one more witness than
// in a row, since hiccups alike and evenly spaced by chance are then rare.
inline constexpr int kSpacedSpellsToLearn = 4;
// Finished spells kept to pair a new one with (a period of up to about 16
// spells of any kind), and spacings followed at a time.
inline constexpr size_t kSpellHistory = 16;
inline constexpr size_t kSpacedCandidates = 16;
// A new spell starts spacings with this many alike spells before it, the
// newest.
inline constexpr size_t kSpacedPairs = 2;

// Normal compute times the spell test compares with.
inline constexpr size_t kSpellNormalWindow = 16;
// A spell longer than this many iterations is a lasting change of speed,
// not a spell: the normal window starts over from it.
inline constexpr int kMaxSpellIterations = 64;
// Compute-time positions agree within this share of the period plus
// kSpellSlackIterations normal iterations (a spell is seen only when the
// first iteration that starts in it ends).
inline constexpr double kSpellPeriodTolerance = 0.02;
inline constexpr double kSpellSlackIterations = 1.5;
// A predicted spell on the compute timeline opens this many normal
// iterations before its predicted start and closes this many after its
// predicted end: an iteration wrongly forecast slow costs its member an
// iteration at most, one wrongly forecast normal makes the barrier wait.
inline constexpr double kSpellEarlyIterations = 1.5;
inline constexpr double kSpellLateIterations = 0.5;

// Spells on one timeline, and the schedule they keep, if any.
class SpellSchedule {
 public:
  // Positions within `relative_tolerance` x the period plus the slack given
  // to each call are the same (0: exact, for iteration counts). `book` (may
  // be null) is the job's; it must outlive this schedule.
  // `exact`: positions are whole iterations, so that a chance spacing must
  // match to the iteration: alike spells evenly spaced among other spells
  // make a schedule too (kSpacedSpellsToLearn), and a hiccup that runs into
  // a scheduled spell does not lose it.
  SpellSchedule(SpellTimeline timeline, double relative_tolerance, SpellBook* book, bool exact)
      : timeline_(timeline),
        relative_tolerance_(relative_tolerance),
        book_(book),
        exact_(exact),
        spacings_(exact ? std::make_unique<Spacings>() : nullptr) {}

  // A spell began at `position`: with a schedule, it is on it or ignored.
  void OnStart(double position, double slack);
  // The spell that began last lasted `window` (an iteration starting less
  // than `window` after its start was in it) and slowed iterations by
  // `factor`, over `iterations` iterations.
  void OnEnd(double window, double factor, int iterations, double slack);
  // The worker is at `position`. A predicted spell that should have begun by
  // now and did not costs the schedule; without one, the book may have it.
  void Advance(double position, double slack);

  bool confident() const { return confident_; }
  // Predicted spells that came since the schedule was found.
  int kept() const { return kept_; }
  // The factor of iterations in scheduled spells, and their length.
  double factor() const { return schedule_.factor; }
  double window() const { return schedule_.window; }
  // Whether an iteration starting at `position` falls in a scheduled spell:
  // the last one, or a predicted one, opened `early` before its predicted
  // start and closed `late` after its predicted end.
  bool SlowAt(double position, double early, double late) const;

 private:
  struct Spell {
    double start = 0;
    double window = 0;
    double factor = 1;
    int iterations = 1;
  };
  double Tolerance(double period, double slack) const {
    return relative_tolerance_ * period + slack;
  }
  // A spacing some alike spells kept: `spells` of them, `last` the latest.
  struct Spaced {
    Spell last;
    double period = 0;
    int spells = 0;
  };
  // Expects spells every `period` from `last` on.
  void Adopt(const Spell& last, double period);
  // Adopts `period` from this worker's own spells and records it in the book.
  void Found(const Spell& last, double period, double tolerance);
  // Adopts a schedule if the spell that ended last and those right before
  // it make one.
  void FollowInARow(double slack);
  // `spell` just ended off any schedule: it extends the spacings it is on
  // (adopted once one has kSpacedSpellsToLearn spells, without a schedule)
  // and starts new ones with the alike spells before it. With spacings_.
  void FollowSpacings(const Spell& spell, double slack);
  // The position after which `spaced`'s next spell is late.
  double LateAfter(const Spaced& spaced, double slack) const {
    return spaced.last.start + spaced.period + Tolerance(spaced.period, slack);
  }
  // The earliest position at which a followed spacing's next spell is late.
  double SpacedExpiry(double slack) const;
  // The schedule is lost.
  void Forget();

  const SpellTimeline timeline_;
  const double relative_tolerance_;
  SpellBook* const book_;
  const bool exact_;
  std::array<Spell, 3> recent_{};  // The last finished spells, oldest first.
  size_t recent_count_ = 0;
  // The last finished spells (a ring), and the spacings followed; a
  // spacing whose next spell did not come is dropped (expiry: the earliest
  // such position, so that Advance is O(1)).
  struct Spacings {
    std::array<Spell, kSpellHistory> history{};
    size_t history_count = 0;
    size_t history_next = 0;
    std::array<Spaced, kSpacedCandidates> followed{};
    size_t followed_count = 0;
    double expiry = 0;
  };
  // Non-null with exact_ only (1.3 KB a worker, not spent on compute time).
  std::unique_ptr<Spacings> spacings_;
  double pending_start_ = 0;  // Of the spell running now.
  bool in_spell_ = false;
  // The book's version when it was last asked about recent_.back().
  std::optional<uint64_t> asked_book_;
  bool confident_ = false;
  bool last_scheduled_ = false;       // The spell seen last is on the schedule.
  std::optional<Spell> unscheduled_;  // The last one off it, under a schedule.
  int kept_ = 0;
  double anchor_ = 0;  // The last scheduled spell's start.
  SpellShape schedule_;
};

class SlowSpells {
 public:
  // `book` (may be null) is the job's.
  explicit SlowSpells(std::shared_ptr<SpellBook> book);

  // One finished iteration that took `compute`.
  void Observe(absl::Duration compute);

  // The iteration observed last was in a spell.
  bool InSpell() const { return in_spell_; }
  // A schedule is known (on either timeline).
  bool Confident() const { return iterations_.confident() || compute_.confident(); }
  // Slowdown factors of the next `count` iterations (1 outside spells, the
  // scheduled spells' factor inside), or nullopt without a schedule.
  std::optional<std::vector<double>> Factors(int count) const;
  // The factor of the next iteration (1 without a schedule); allocates
  // nothing, for every report.
  double NextFactor() const;

 private:
  bool IsSlow(absl::Duration compute) const;
  // Which schedule forecasts: the one that kept more of its predictions.
  // On a tie, iteration counts for one-iteration spells (a pause every N
  // iterations falls on its index, where the compute timeline can only
  // open it early), compute time otherwise (counts of noisy iterations
  // fall evenly spaced by chance more often than compute times).
  bool ByIterations() const {
    if (!iterations_.confident()) return false;
    if (!compute_.confident()) return true;
    if (iterations_.kept() != compute_.kept()) return iterations_.kept() > compute_.kept();
    return iterations_.window() <= 1;
  }
  // The factor of an iteration starting at `iteration` / `compute` seconds.
  double FactorAt(bool by_iterations, double iteration, double compute) const;
  void EndSpell(double slack);

  std::shared_ptr<SpellBook> book_;  // Keeps the schedules' pointer valid.
  int64_t iterations_seen_ = 0;
  absl::Duration compute_total_;  // Cumulative reported compute time.

  RobustWindow<kSpellNormalWindow> normal_;  // Compute times outside spells.

  bool in_spell_ = false;
  absl::Duration spell_first_compute_;  // compute_total_ when it began.
  absl::Duration spell_last_start_;     // Start of its latest slow iteration.
  int spell_iterations_ = 0;
  absl::Duration spell_compute_;  // Sum of its iterations' compute times.

  SpellSchedule iterations_;  // Positions in iterations (exact).
  SpellSchedule compute_;     // Positions in seconds of compute.
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_SLOW_SPELLS_H_
