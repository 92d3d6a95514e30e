#include "tools/sim/trace.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebsp::sim {
namespace {

using ::testing::HasSubstr;

SuiteOptions Options(int workers, uint64_t seed) {
  SuiteOptions options;
  options.workers = workers;
  options.seed = seed;
  options.length = absl::Seconds(60);
  return options;
}

absl::Duration Sum(const std::vector<absl::Duration>& times) {
  absl::Duration total;
  for (absl::Duration d : times) total += d;
  return total;
}

TEST(SuiteTraceTest, SameSeedGivesIdenticalTraces) {
  for (TraceKind kind : kAllTraceKinds) {
    absl::StatusOr<Trace> a = MakeSuiteTrace(kind, Options(16, 7));
    absl::StatusOr<Trace> b = MakeSuiteTrace(kind, Options(16, 7));
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(a->compute, b->compute) << TraceKindName(kind);
  }
}

TEST(SuiteTraceTest, RandomTracesDependOnTheSeed) {
  for (TraceKind kind :
       {TraceKind::kTransient, TraceKind::kPeriodic, TraceKind::kNoise, TraceKind::kMix}) {
    absl::StatusOr<Trace> a = MakeSuiteTrace(kind, Options(16, 1));
    absl::StatusOr<Trace> b = MakeSuiteTrace(kind, Options(16, 2));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(a->compute, b->compute) << TraceKindName(kind);
  }
}

TEST(SuiteTraceTest, EveryWorkerCoversTheLengthAndTracesAreValid) {
  for (TraceKind kind : kAllTraceKinds) {
    absl::StatusOr<Trace> trace = MakeSuiteTrace(kind, Options(16, 3));
    ASSERT_TRUE(trace.ok()) << trace.status();
    EXPECT_TRUE(trace->Validate().ok()) << TraceKindName(kind);
    ASSERT_EQ(trace->workers(), 16);
    EXPECT_EQ(trace->name, TraceKindName(kind));
    for (const std::vector<absl::Duration>& times : trace->compute) {
      EXPECT_GE(Sum(times), absl::Seconds(60)) << TraceKindName(kind);
    }
  }
}

TEST(SuiteTraceTest, StaticTraceDealsSpeedFactorsRoundRobin) {
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kStatic, Options(5, 1));
  ASSERT_TRUE(trace.ok());
  const absl::Duration expected[] = {absl::Milliseconds(100), absl::Milliseconds(130),
                                     absl::Milliseconds(200), absl::Milliseconds(100),
                                     absl::Milliseconds(130)};
  for (int w = 0; w < 5; ++w) {
    for (absl::Duration d : trace->compute[w]) ASSERT_EQ(d, expected[w]);
  }
}

TEST(SuiteTraceTest, TransientStragglersAreThreeTimesSlowerForAWhile) {
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kTransient, Options(16, 1));
  ASSERT_TRUE(trace.ok());
  int slow = 0;
  int normal = 0;
  for (const std::vector<absl::Duration>& times : trace->compute) {
    for (absl::Duration d : times) {
      if (d == absl::Milliseconds(300)) {
        ++slow;
      } else {
        ASSERT_EQ(d, absl::Milliseconds(100));
        ++normal;
      }
    }
  }
  // 60 s at one event per 4 s, each 2-5 s of 300 ms iterations: some, but
  // a small share of all iterations.
  EXPECT_GT(slow, 20);
  EXPECT_LT(slow, normal / 5);
}

TEST(SuiteTraceTest, PeriodicSlowdownsHitOnlyEveryEighthWorker) {
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kPeriodic, Options(16, 1));
  ASSERT_TRUE(trace.ok());
  for (int w = 0; w < 16; ++w) {
    int slow = 0;
    for (absl::Duration d : trace->compute[w]) slow += d > absl::Milliseconds(100);
    if (w % 8 == 0) {
      // 2 s slow out of every 10 s for 60 s: 5 or 6 windows of ~7 iterations.
      EXPECT_GE(slow, 5 * 6) << "worker " << w;
    } else {
      EXPECT_EQ(slow, 0) << "worker " << w;
    }
  }
}

TEST(SuiteTraceTest, NoiseIsLogNormalAroundTheBase) {
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kNoise, Options(4, 1));
  ASSERT_TRUE(trace.ok());
  std::vector<double> logs;
  for (const std::vector<absl::Duration>& times : trace->compute) {
    for (absl::Duration d : times) {
      logs.push_back(std::log(absl::ToDoubleSeconds(d) / 0.1));
    }
  }
  double mean = 0;
  for (double x : logs) mean += x;
  mean /= logs.size();
  double var = 0;
  for (double x : logs) var += (x - mean) * (x - mean);
  const double sigma = std::sqrt(var / logs.size());
  // Over 2000+ samples the estimates are well within these margins.
  EXPECT_NEAR(mean, 0, 0.03);
  EXPECT_NEAR(sigma, 0.25, 0.02);
}

TEST(SuiteTraceTest, RejectsBadOptionsNamingTheValue) {
  SuiteOptions options = Options(0, 1);
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kStatic, options);
  EXPECT_EQ(trace.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(trace.status().message(), HasSubstr("got 0"));

  options = Options(4, 1);
  options.length = absl::ZeroDuration();
  EXPECT_EQ(MakeSuiteTrace(TraceKind::kStatic, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SuiteTraceTest, ParsesKindNamesAndRejectsUnknownOnes) {
  for (TraceKind kind : kAllTraceKinds) {
    absl::StatusOr<TraceKind> parsed = ParseTraceKind(TraceKindName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  absl::StatusOr<TraceKind> bad = ParseTraceKind("bursty");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'bursty'"));
}

TEST(StressTraceTest, AreValidDeterministicAndOutsideTheSuite) {
  for (TraceKind kind : kStressTraceKinds) {
    absl::StatusOr<Trace> a = MakeSuiteTrace(kind, Options(40, 3));
    absl::StatusOr<Trace> b = MakeSuiteTrace(kind, Options(40, 3));
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_TRUE(a->Validate().ok());
    EXPECT_EQ(a->compute, b->compute) << TraceKindName(kind);
    for (const std::vector<absl::Duration>& w : a->compute) {
      EXPECT_GE(Sum(w), absl::Seconds(60)) << TraceKindName(kind);
    }
    absl::StatusOr<TraceKind> parsed = ParseTraceKind(TraceKindName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
    for (TraceKind suite : kAllTraceKinds) EXPECT_NE(suite, kind);
  }
}

TEST(StressTraceTest, HeavyHasASlowerNodeHeavyTailedHiccupsAndPauses) {
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kHeavy, Options(40, 1));
  ASSERT_TRUE(trace.ok()) << trace.status();
  // Worker 0 is the 1.6x node: fewer iterations in the same compute time.
  EXPECT_LT(trace->compute[0].size() * 1.3, trace->compute[1].size());
  int hiccups = 0;  // Iterations far above the base (hiccups and pauses).
  absl::Duration longest;
  for (const std::vector<absl::Duration>& w : trace->compute) {
    for (absl::Duration d : w) {
      if (d > absl::Milliseconds(500)) ++hiccups;
      longest = std::max(longest, d);
    }
    // Every 250th iteration pauses for 15 base iterations more.
    ASSERT_GT(w.size(), 250u);
    EXPECT_GT(w[249], absl::Milliseconds(1500));
  }
  EXPECT_GT(hiccups, 40);
  EXPECT_GT(longest, absl::Seconds(2));  // A tail far beyond a log-normal's.
}

TEST(StressTraceTest, DriftChangesEachWorkersSpeedOverTime) {
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kDrift, Options(20, 1));
  ASSERT_TRUE(trace.ok()) << trace.status();
  int drifting = 0;
  for (const std::vector<absl::Duration>& w : trace->compute) {
    // Mean iteration time of the first and the last 50 iterations.
    ASSERT_GT(w.size(), 100u);
    const std::vector<absl::Duration> first(w.begin(), w.begin() + 50);
    const std::vector<absl::Duration> last(w.end() - 50, w.end());
    const double ratio = absl::FDivDuration(Sum(last), Sum(first));
    if (ratio > 1.15 || ratio < 1 / 1.15) ++drifting;
  }
  EXPECT_GE(drifting, 5);
}

TEST(TraceTest, ValidateRejectsEmptyWorkersAndNonPositiveTimes) {
  Trace trace{"t", {}};
  EXPECT_FALSE(trace.Validate().ok());
  trace.compute = {{absl::Seconds(1)}, {}};
  EXPECT_THAT(trace.Validate().message(), HasSubstr("worker 1 has no iterations"));
  trace.compute = {{absl::Seconds(1), absl::ZeroDuration()}};
  EXPECT_THAT(trace.Validate().message(), HasSubstr("worker 0 iteration 1"));
}

TEST(TraceTest, IterationsPastTheEndRepeatTheTrace) {
  Trace trace{"t", {{absl::Seconds(1), absl::Seconds(2), absl::Seconds(3)}}};
  EXPECT_EQ(trace.IterationTime(0, 0), absl::Seconds(1));
  EXPECT_EQ(trace.IterationTime(0, 4), absl::Seconds(2));
  EXPECT_EQ(trace.IterationTime(0, 8), absl::Seconds(3));
}

}  // namespace
}  // namespace ebsp::sim
