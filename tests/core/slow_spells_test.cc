// Slow spells (lib/core/predict/slow_spells.h): recurring slowdowns learned
// from reported compute times, alone and through the job's SpellBook.
#include "lib/core/predict/slow_spells.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/core/predict/predictor.h"
#include "lib/core/predict/spell_book.h"

namespace ebsp::core {
namespace {

constexpr double kNormal = 0.1;  // Seconds of compute per normal iteration.

// A worker slowed `factor` times for iterations that start within `window`
// seconds of compute after `phase` + k x `period` (the simulator's periodic
// trace, on the worker's own compute timeline). Tests choose phases that put
// spell edges mid-iteration, as real ones are.
class PeriodicWorker {
 public:
  PeriodicWorker(double period, double window, double factor, double phase)
      : period_(period), window_(window), factor_(factor), phase_(phase) {}

  double Next() {
    const double since = elapsed_ - phase_;
    const double into = since - period_ * static_cast<int64_t>(since / period_);
    const double seconds = since >= 0 && into < window_ ? kNormal * factor_ : kNormal;
    elapsed_ += seconds;
    return seconds;
  }
  double elapsed() const { return elapsed_; }

 private:
  const double period_, window_, factor_, phase_;
  double elapsed_ = 0;
};

void Feed(SlowSpells& spells, double seconds) { spells.Observe(absl::Seconds(seconds)); }

// Feeds `worker` into `spells` until its compute time reaches `until`.
void FeedUntil(SlowSpells& spells, PeriodicWorker& worker, double until) {
  while (worker.elapsed() < until) Feed(spells, worker.Next());
}

// Runs `worker` for `count` iterations, comparing before each the forecast
// of the next one (what late binding asks at every report) with what the
// worker then does: every slow one must be forecast slow (at its factor),
// and at most `spare` normal ones may be forecast slow (the margin at a
// spell's start). Returns how many were slow.
int ExpectForecastCovers(SlowSpells& spells, PeriodicWorker& worker, int count, double factor,
                         int spare) {
  int slow_seen = 0;
  int wrongly_slow = 0;
  for (int j = 0; j < count; ++j) {
    std::optional<std::vector<double>> forecast = spells.Factors(1);
    EXPECT_TRUE(forecast.has_value()) << "iteration " << j;
    const double predicted = forecast.has_value() ? forecast->front() : 0;
    const double actual = worker.Next();
    if (actual / kNormal > 1.5) {
      ++slow_seen;
      EXPECT_NEAR(predicted, factor, 0.05 * factor)
          << "iteration " << j << " at " << worker.elapsed() - actual << " s is slow";
    } else if (predicted > 1) {
      ++wrongly_slow;
    }
    Feed(spells, actual);
  }
  EXPECT_LE(wrongly_slow, spare);
  return slow_seen;
}

// A whole spell ahead: the forecast of the next `count` iterations made now
// has the iterations `worker` will run slow slow, and the others normal but
// for one on either edge of the spell (the margins).
void ExpectSpellAhead(SlowSpells& spells, PeriodicWorker worker, int count) {
  std::optional<std::vector<double>> forecast = spells.Factors(count);
  ASSERT_TRUE(forecast.has_value());
  std::vector<bool> slow;
  for (int j = 0; j < count; ++j) slow.push_back(worker.Next() > 1.5 * kNormal);
  ASSERT_TRUE(std::find(slow.begin(), slow.end(), true) != slow.end());
  for (int j = 0; j < count; ++j) {
    const bool edge = (j + 1 < count && slow[j + 1]) || (j > 0 && slow[j - 1]);
    if (slow[j]) {
      EXPECT_GT((*forecast)[j], 1) << "iteration " << j;
    } else if (!edge) {
      EXPECT_EQ((*forecast)[j], 1) << "iteration " << j;
    }
  }
}

TEST(SlowSpellsTest, NothingIsForecastWithoutASchedule) {
  SlowSpells spells(nullptr);
  for (int i = 0; i < 50; ++i) Feed(spells, kNormal);
  EXPECT_FALSE(spells.Confident());
  EXPECT_FALSE(spells.Factors(5).has_value());
}

TEST(SlowSpellsTest, TwoAlikeSpellsOnTheComputeTimelineMakeASchedule) {
  // 3x slower for 1 s of every 5 s of compute, first at 2 s.
  SlowSpells spells(nullptr);
  PeriodicWorker worker(5, 1, 3, 2.05);
  FeedUntil(spells, worker, 3.5);  // The first spell is over.
  EXPECT_FALSE(spells.Confident());
  FeedUntil(spells, worker, 8.5);  // The second one too.
  EXPECT_TRUE(spells.Confident());
  // From 8.5 s, the third spell: iterations starting at 12.1 to 13.0 s.
  ExpectSpellAhead(spells, worker, 40);
  // Every spell from here on, iteration by iteration.
  EXPECT_EQ(ExpectForecastCovers(spells, worker, 200, 3, 4), 16);
}

TEST(SlowSpellsTest, PausesEveryNIterationsAreForecastAtTheirIteration) {
  // A checkpoint: every 25th iteration takes ten times as long.
  SlowSpells spells(nullptr);
  for (int i = 0; i < 60; ++i) Feed(spells, i % 25 == 24 ? 10 * kNormal : kNormal);
  // Two pauses (24 and 49) are no schedule: one-iteration spells need three.
  EXPECT_FALSE(spells.Confident());
  for (int i = 60; i < 85; ++i) Feed(spells, i % 25 == 24 ? 10 * kNormal : kNormal);
  ASSERT_TRUE(spells.Confident());
  std::optional<std::vector<double>> forecast = spells.Factors(25);
  ASSERT_TRUE(forecast.has_value());
  // The next pause is iteration 99, the 15th from here; the two before it
  // may be forecast slow too (the compute timeline opens a spell an
  // iteration and a half early).
  EXPECT_NEAR((*forecast)[99 - 85], 10, 0.5);
  for (size_t j = 0; j < forecast->size(); ++j) {
    if (j < 97 - 85 || j > 99 - 85) {
      EXPECT_EQ((*forecast)[j], 1) << j;
    }
  }
}

// Data-loader hiccups: 3 % of iterations, heavy-tailed factors, at
// irregular places (a fixed linear congruential sequence).
class Hiccups {
 public:
  explicit Hiccups(uint64_t seed) : state_(seed) {}
  // The next iteration's compute time.
  double Next() {
    return Uniform() < 0.03 ? kNormal * (1.5 + 0.5 / std::pow(1 - Uniform(), 1 / 1.5)) : kNormal;
  }

 private:
  double Uniform() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) / 9007199254740992.0;
  }
  uint64_t state_;
};

TEST(SlowSpellsTest, RandomHiccupsMakeNoSchedule) {
  SlowSpells spells(nullptr);
  Hiccups hiccups(12345);
  int forecast_slow = 0;
  for (int i = 0; i < 5000; ++i) {
    if (std::optional<std::vector<double>> f = spells.Factors(1); f.has_value() && (*f)[0] > 1) {
      ++forecast_slow;
    }
    Feed(spells, hiccups.Next());
  }
  // A schedule found by chance lasts until its first missed spell: nearly
  // nothing is ever forecast slow.
  EXPECT_LE(forecast_slow, 50);
}

TEST(SlowSpellsTest, PausesEveryNIterationsAreLearnedAmidHiccups) {
  // A checkpoint every 100th iteration (16x) and random hiccups between:
  // rarely three pauses in a row, but four alike spells at exactly even
  // spacing, with whatever fell between, make the schedule; then every
  // pause is forecast at its iteration (also one a hiccup runs into).
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    SlowSpells spells(nullptr);
    Hiccups hiccups(seed);
    int pauses_forecast = 0;
    int wrongly_slow = 0;
    for (int i = 0; i < 2000; ++i) {
      std::optional<std::vector<double>> f = spells.Factors(1);
      const double predicted = f.has_value() ? (*f)[0] : 1;
      const bool pause = i % 100 == 99;
      double seconds = hiccups.Next();
      if (pause) seconds += 15 * kNormal;
      if (i == 898) seconds = 3 * kNormal;  // A hiccup right before a pause.
      if (pause) {
        pauses_forecast += predicted > 10;
        // The fourth pause (399) makes the schedule; one or two more are
        // needed when a chance schedule of three hiccups in a row holds
        // the place, or a hiccup lands on a pause.
        if (i > 600) {
          EXPECT_GT(predicted, 10) << "seed " << seed << " pause at " << i;
        }
      } else if (predicted > 1) {
        ++wrongly_slow;
      }
      Feed(spells, seconds);
    }
    EXPECT_GE(pauses_forecast, 14) << "seed " << seed;
    EXPECT_LE(wrongly_slow, 10) << "seed " << seed;
  }
}

TEST(SlowSpellsTest, AMissedSpellEndsTheSchedule) {
  SlowSpells spells(nullptr);
  PeriodicWorker worker(5, 1, 3, 2.05);
  FeedUntil(spells, worker, 8.5);
  ASSERT_TRUE(spells.Confident());
  // The slowdown stops recurring: by the time the third spell is overdue
  // (12 s plus the tolerance), the schedule is gone.
  for (int i = 0; i < 45; ++i) Feed(spells, kNormal);
  EXPECT_FALSE(spells.Confident());
  EXPECT_FALSE(spells.Factors(3).has_value());
}

TEST(SlowSpellsTest, ASpellOffTheScheduleIsIgnored) {
  SlowSpells spells(nullptr);
  PeriodicWorker worker(5, 1, 3, 2.05);
  FeedUntil(spells, worker, 9.5);
  ASSERT_TRUE(spells.Confident());
  // A random straggler between two scheduled spells (4x, 0.8 s).
  for (int i = 0; i < 2; ++i) Feed(spells, 4 * kNormal);
  EXPECT_TRUE(spells.Confident());
  // The schedule still forecasts the next spell (the worker's own compute
  // timeline moved on by the straggler's 0.8 s).
  PeriodicWorker shifted(5, 1, 3, 2.05 - 0.8);
  FeedUntil(spells, shifted, 9.5 + 0.8);
  EXPECT_EQ(ExpectForecastCovers(spells, shifted, 40, 3, 1), 4);
}

TEST(SlowSpellsTest, ALastingSlowdownIsTheNewNormal) {
  SlowSpells spells(nullptr);
  for (int i = 0; i < 20; ++i) Feed(spells, kNormal);
  // The node is 3x slower from now on: after kMaxSpellIterations that is
  // its speed, not a spell that never ends...
  for (int i = 0; i < 200; ++i) Feed(spells, 3 * kNormal);
  EXPECT_FALSE(spells.Confident());
  // ...so spells are measured against it: twice 10 iterations at 2x that.
  for (int spell = 0; spell < 2; ++spell) {
    for (int i = 0; i < 10; ++i) Feed(spells, 6 * kNormal);
    for (int i = 0; i < 40; ++i) Feed(spells, 3 * kNormal);
  }
  ASSERT_TRUE(spells.Confident());
  // The third spell is due now, at 2x the new normal speed.
  EXPECT_NEAR(spells.Factors(1)->front(), 2, 1e-9);
}

TEST(SlowSpellsTest, TheJobsScheduleIsExpectedAfterOneSpell) {
  auto book = std::make_shared<SpellBook>();
  // Three workers find the schedule from their own two spells.
  for (double phase : {2.15, 2.55, 3.05}) {
    SlowSpells other(book);
    PeriodicWorker worker(5, 1, 3, phase);
    FeedUntil(other, worker, phase + 6.5);
    ASSERT_TRUE(other.Confident());
  }
  // A fourth, after its first spell only, expects the second.
  SlowSpells spells(book);
  PeriodicWorker worker(5, 1, 3, 2.05);
  FeedUntil(spells, worker, 3.5);
  EXPECT_TRUE(spells.Confident());
  EXPECT_EQ(ExpectForecastCovers(spells, worker, 60, 3, 1), 4);
  // A worker whose one spell is unlike theirs (6x) expects nothing.
  SlowSpells unlike(book);
  PeriodicWorker other_kind(5, 1, 6, 2.05);
  FeedUntil(unlike, other_kind, 3.5);
  EXPECT_FALSE(unlike.Confident());
}

TEST(SlowSpellsTest, TheBookFollowsTheLargestAgreeingGroup) {
  SpellBook book;
  constexpr double kTolerance = 0.25;  // 2 % of 5 s plus 1.5 iterations.
  const auto consensus = [&book](SpellTimeline timeline, double window, double factor) {
    return book.Consensus(timeline, window, factor, kTolerance);
  };
  book.Record(SpellTimeline::kCompute, SpellShape{5, 1, 3}, kTolerance);
  book.Record(SpellTimeline::kCompute, SpellShape{5.1, 1, 3}, kTolerance);
  EXPECT_FALSE(consensus(SpellTimeline::kCompute, 1, 3).has_value()) << "below the quorum";
  book.Record(SpellTimeline::kCompute, SpellShape{4.95, 1.1, 3.1}, kTolerance);
  std::optional<SpellShape> job = consensus(SpellTimeline::kCompute, 1, 3);
  ASSERT_TRUE(job.has_value());
  EXPECT_NEAR(job->period, 5.0167, 1e-3);
  // Other timelines and unlike spells (longer, or slower) have none.
  EXPECT_FALSE(consensus(SpellTimeline::kIterations, 1, 3).has_value());
  EXPECT_FALSE(consensus(SpellTimeline::kCompute, 3, 3).has_value());
  EXPECT_FALSE(consensus(SpellTimeline::kCompute, 1, 6).has_value());
  // A wrong record (a first spell cut by the job's start) is outvoted...
  book.Record(SpellTimeline::kCompute, SpellShape{9.3, 1, 3}, kTolerance);
  job = consensus(SpellTimeline::kCompute, 1, 3);
  ASSERT_TRUE(job.has_value());
  EXPECT_NEAR(job->period, 5.0167, 1e-3);
  // ...but without a majority there is no job schedule.
  book.Record(SpellTimeline::kCompute, SpellShape{9.4, 1, 3}, kTolerance);
  book.Record(SpellTimeline::kCompute, SpellShape{9.35, 1, 3}, kTolerance);
  EXPECT_FALSE(consensus(SpellTimeline::kCompute, 1, 3).has_value());
}

TEST(SlowSpellsTest, LateBindingForecastsTheScheduledSpell) {
  // Through the predictor: arrivals every compute time (no overhead).
  std::unique_ptr<IterationPredictor> p = MakePredictor(PredictorKind::kEwma);
  PeriodicWorker worker(5, 1, 3, 2.05);
  const absl::Time start = absl::UnixEpoch() + absl::Hours(1);
  p->StartRound(start);
  absl::Time t = start;
  while (worker.elapsed() < 11.5) {
    t += absl::Seconds(worker.Next());
    p->ObserveIteration(t, absl::Seconds(0));  // Compute unknown: no spells.
  }
  EXPECT_EQ(p->LateForecast(10), p->Forecast(10));

  std::unique_ptr<IterationPredictor> q = MakePredictor(PredictorKind::kEwma);
  PeriodicWorker same(5, 1, 3, 2.05);
  q->StartRound(start);
  t = start;
  while (same.elapsed() < 11.5) {
    const double seconds = same.Next();
    t += absl::Seconds(seconds);
    q->ObserveIteration(t, absl::Seconds(seconds));
  }
  // 11.5 s in: the third spell begins at 12 s, five iterations from here
  // (the one opened early included).
  const std::vector<absl::Time> ends = q->LateForecast(8);
  ASSERT_EQ(ends.size(), 8u);
  std::vector<double> steps;
  absl::Time previous = t;
  for (absl::Time end : ends) {
    steps.push_back(absl::ToDoubleSeconds(end - previous));
    previous = end;
  }
  EXPECT_NEAR(steps[0], kNormal, 1e-6);
  EXPECT_NEAR(steps[7], 3 * kNormal, 0.02);
  EXPECT_EQ(q->NextEnd(), ends[0]);
  // Plan binding keeps its flat forecast.
  EXPECT_NEAR(absl::ToDoubleSeconds(q->Forecast(8).back() - t), 8 * kNormal, 0.05);
}

}  // namespace
}  // namespace ebsp::core
