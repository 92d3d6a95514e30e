// Predictors: interval vs round overhead, history, robustness, naming.
#include "lib/core/predict/predictor.h"

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebsp::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PredictorTest : public ::testing::Test {
 protected:
  absl::Time At(double seconds) const { return t0_ + absl::Seconds(seconds); }
  const absl::Time t0_ = absl::UnixEpoch() + absl::Hours(1);
};

TEST_F(PredictorTest, NeedsTwoReportsForHistory) {
  auto p = MakePredictor(PredictorKind::kEwma);
  p->StartRound(At(0));
  EXPECT_FALSE(p->HasHistory());
  EXPECT_EQ(p->TypicalInterval(), absl::ZeroDuration());
  p->ObserveIteration(At(1), absl::Seconds(1));
  EXPECT_FALSE(p->HasHistory());
  p->ObserveIteration(At(2), absl::Seconds(1));
  EXPECT_TRUE(p->HasHistory());
  EXPECT_EQ(p->TypicalInterval(), absl::Seconds(1));
}

TEST_F(PredictorTest, EwmaSeparatesRoundOverheadFromInterval) {
  auto p = MakePredictor(PredictorKind::kEwma);
  // Round 0: the first report comes 5 s after the start, then every second.
  p->StartRound(At(0));
  for (double t : {5, 6, 7, 8}) p->ObserveIteration(At(t), absl::Seconds(1));
  // Round 1: the stack's own sync takes 4 s before the first 1 s iteration.
  p->StartRound(At(10));
  for (double t : {15, 16, 17}) p->ObserveIteration(At(t), absl::Seconds(1));
  EXPECT_EQ(p->TypicalInterval(), absl::Seconds(1));
  EXPECT_EQ(p->RoundOverhead(), absl::Seconds(4));
  p->StartRound(At(20));
  EXPECT_THAT(p->Forecast(3), ElementsAre(At(25), At(26), At(27)));
}

TEST_F(PredictorTest, MedianSeparatesRoundOverheadFromInterval) {
  auto p = MakePredictor(PredictorKind::kWindowedMedian);
  p->StartRound(At(0));
  for (double t : {1, 3, 5}) p->ObserveIteration(At(t), absl::Seconds(2));
  p->StartRound(At(6));
  for (double t : {9, 11}) p->ObserveIteration(At(t), absl::Seconds(2));
  EXPECT_EQ(p->TypicalInterval(), absl::Seconds(2));
  EXPECT_EQ(p->RoundOverhead(), absl::Seconds(1));
  // Mid-round, forecasts continue from the latest report.
  EXPECT_THAT(p->Forecast(2), ElementsAre(At(13), At(15)));
}

TEST_F(PredictorTest, MedianIgnoresASingleSpikeThatMovesTheEwma) {
  auto median = MakePredictor(PredictorKind::kWindowedMedian);
  auto ewma = MakePredictor(PredictorKind::kEwma);
  for (IterationPredictor* p : {median.get(), ewma.get()}) {
    p->StartRound(At(0));
    // Intervals 1 1 1 1 10 1 1: one 10 s spike (a checkpoint write).
    for (double t : {1, 2, 3, 4, 5, 15, 16, 17}) p->ObserveIteration(At(t), absl::Seconds(1));
  }
  EXPECT_EQ(median->TypicalInterval(), absl::Seconds(1));
  EXPECT_GT(ewma->TypicalInterval(), absl::Seconds(2));
}

TEST_F(PredictorTest, LatestIntervalRepeatsTheMostRecentIntervalWithoutOverhead) {
  auto p = MakePredictor(PredictorKind::kLatestInterval);
  p->StartRound(At(0));
  for (double t : {3, 4, 6}) p->ObserveIteration(At(t), absl::Seconds(1));
  EXPECT_EQ(p->TypicalInterval(), absl::Seconds(2));
  EXPECT_EQ(p->RoundOverhead(), absl::ZeroDuration());
  EXPECT_THAT(p->Forecast(3), ElementsAre(At(8), At(10), At(12)));
}

TEST_F(PredictorTest, FirstGapsStandInForIntervalsUnderBsp) {
  // BSP rounds have one report each, so no interval inside a round exists.
  auto p = MakePredictor(PredictorKind::kEwma);
  p->StartRound(At(0));
  p->ObserveIteration(At(3), absl::Seconds(3));
  p->StartRound(At(4));
  p->ObserveIteration(At(7), absl::Seconds(3));
  EXPECT_TRUE(p->HasHistory());
  EXPECT_EQ(p->TypicalInterval(), absl::Seconds(3));
  EXPECT_EQ(p->RoundOverhead(), absl::ZeroDuration());
}

TEST_F(PredictorTest, ForecastOfZeroIsEmptyAndForecastsNeverDecrease) {
  for (PredictorKind kind :
       {PredictorKind::kLatestInterval, PredictorKind::kEwma, PredictorKind::kWindowedMedian}) {
    auto p = MakePredictor(kind);
    p->StartRound(At(0));
    EXPECT_TRUE(p->Forecast(0).empty());
    for (double t : {1.0, 1.0, 2.5}) p->ObserveIteration(At(t), absl::Seconds(1));
    const std::vector<absl::Time> ends = p->Forecast(50);
    ASSERT_EQ(ends.size(), 50u);
    EXPECT_GE(ends.front(), At(2.5));
    for (size_t i = 1; i < ends.size(); ++i) EXPECT_LE(ends[i - 1], ends[i]);
  }
}

TEST_F(PredictorTest, KindNamesRoundTripAndUnknownNameIsNamed) {
  for (PredictorKind kind :
       {PredictorKind::kLatestInterval, PredictorKind::kEwma, PredictorKind::kWindowedMedian}) {
    absl::StatusOr<PredictorKind> parsed = ParsePredictorKind(PredictorKindName(kind));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, kind);
  }
  absl::StatusOr<PredictorKind> bad = ParsePredictorKind("oracle");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("\"oracle\""));
}

// Uncertainty for late binding (docs/planning.md): spread and episodes.

// Observes a round starting at 0 whose reports come after `intervals`.
void Feed(IterationPredictor& p, absl::Time start, const std::vector<double>& intervals) {
  p.StartRound(start);
  absl::Time t = start + absl::Seconds(1);
  p.ObserveIteration(t, absl::Seconds(1));
  for (double d : intervals) {
    t += absl::Seconds(d);
    p.ObserveIteration(t, absl::Seconds(d));
  }
}

TEST_F(PredictorTest, SteadyIntervalsHaveNoSpread) {
  for (PredictorKind kind :
       {PredictorKind::kLatestInterval, PredictorKind::kEwma, PredictorKind::kWindowedMedian}) {
    auto p = MakePredictor(kind);
    Feed(*p, At(0), {1, 1, 1, 1, 1});
    EXPECT_EQ(p->IntervalSpread(), absl::ZeroDuration());
    EXPECT_FALSE(p->InStragglerEpisode());
    EXPECT_EQ(p->CurrentInterval(), absl::Seconds(1));
    EXPECT_EQ(p->NextEnd(), At(7));
  }
}

TEST_F(PredictorTest, SpreadIsTheScaledMedianAbsoluteDeviation) {
  auto p = MakePredictor(PredictorKind::kWindowedMedian);
  // Median 1.0; deviations 0.2, 0, 0.2, 0.1, 0.1: their median is 0.1.
  Feed(*p, At(0), {0.8, 1.0, 1.2, 0.9, 1.1});
  EXPECT_NEAR(absl::ToDoubleSeconds(p->IntervalSpread()), 1.4826 * 0.1, 1e-6);
  // One outlier hardly moves it (a standard deviation would jump to ~4 s).
  Feed(*p, At(100), {10});
  EXPECT_LT(p->IntervalSpread(), absl::Milliseconds(200));
}

TEST_F(PredictorTest, OneHiccupIsNotAnEpisodeButARunOfThemIs) {
  auto p = MakePredictor(PredictorKind::kEwma);
  Feed(*p, At(0), {1, 1, 1, 1, 1, 1});
  Feed(*p, At(100), {1, 4});  // A hiccup.
  EXPECT_FALSE(p->InStragglerEpisode());
  Feed(*p, At(200), {1, 3, 3.5});  // A straggler: twice far above 1 s.
  EXPECT_TRUE(p->InStragglerEpisode());
  // Forecast with the episode's own interval, not the (lagging) EWMA.
  EXPECT_EQ(p->CurrentInterval(), absl::Seconds(3.5));
  EXPECT_EQ(p->NextEnd(), At(200 + 1 + 1 + 3 + 3.5 + 3.5));
  EXPECT_LT(p->TypicalInterval(), absl::Seconds(3.5));
  // Back to normal speed: the episode ends at once.
  Feed(*p, At(300), {1});
  EXPECT_FALSE(p->InStragglerEpisode());
}

TEST_F(PredictorTest, ALastingSlowdownBecomesTheNewTypical) {
  auto p = MakePredictor(PredictorKind::kWindowedMedian);
  Feed(*p, At(0), {1, 1, 1, 1, 1, 1, 1, 1});
  // A node that stays 2x slower: an episode at first, then the window's
  // median moves and it is simply the node's speed.
  std::vector<double> slow(12, 2.0);
  Feed(*p, At(100), slow);
  EXPECT_FALSE(p->InStragglerEpisode());
  EXPECT_EQ(p->CurrentInterval(), absl::Seconds(2));
}

}  // namespace
}  // namespace ebsp::core
