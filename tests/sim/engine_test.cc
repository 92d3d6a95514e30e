// The engine on small traces whose outcome can be worked out by hand.
#include "tools/sim/engine.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/policy/policy_config.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {
namespace {

using ::testing::HasSubstr;

core::PolicyConfig Policy(const char* text) {
  absl::StatusOr<core::PolicyConfig> policy = core::ParsePolicy(text);
  EXPECT_TRUE(policy.ok()) << text << ": " << policy.status();
  return policy.value_or(core::PolicyConfig{});
}

SimOptions Options(const char* policy, absl::Duration duration) {
  SimOptions options;
  options.policy = Policy(policy);
  options.duration = duration;
  return options;
}

// Worker 0 takes 1 s per iteration, worker 1 takes 2 s.
Trace TwoSpeeds() { return Trace{"two", {{absl::Seconds(1)}, {absl::Seconds(2)}}}; }

TEST(EngineTest, AspNeverWaitsAndRunsEveryWorkerFlatOut) {
  absl::StatusOr<SimMetrics> m = Simulate(TwoSpeeds(), Options("asp", absl::Seconds(10)));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->workers, 2);
  EXPECT_EQ(m->iterations_total, 10u + 5u);
  EXPECT_DOUBLE_EQ(m->throughput_iters_per_s, 1.5);
  EXPECT_EQ(m->idle_fraction, 0);
  EXPECT_EQ(m->waits, 0u);
  EXPECT_EQ(m->rounds, 0u);
  // At t = 10 the fast worker has 10 iterations, the slow one 5.
  EXPECT_EQ(m->max_staleness, 5u);
  EXPECT_EQ(m->max_total_lead, 5u);
}

TEST(EngineTest, BspWaitsForTheSlowestEveryIteration) {
  absl::StatusOr<SimMetrics> m = Simulate(TwoSpeeds(), Options("bsp", absl::Seconds(10)));
  ASSERT_TRUE(m.ok()) << m.status();
  // Rounds release at 2, 4, 6, 8, 10; the fast worker waits 1 s in each.
  EXPECT_EQ(m->iterations_total, 10u);
  EXPECT_EQ(m->rounds, 5u);
  EXPECT_DOUBLE_EQ(m->idle_fraction, 5.0 / 20.0);
  EXPECT_EQ(m->waits, 10u);
  EXPECT_DOUBLE_EQ(m->mean_wait_s, 0.5);
  EXPECT_EQ(m->max_staleness, 1u);
  EXPECT_DOUBLE_EQ(m->round_wait_s_total, 5.0);
}

TEST(EngineTest, SyncCostDelaysEveryRoundAfterARelease) {
  SimOptions options = Options("bsp", absl::Seconds(10));
  options.sync_cost = absl::Milliseconds(500);
  absl::StatusOr<SimMetrics> m = Simulate(TwoSpeeds(), options);
  ASSERT_TRUE(m.ok()) << m.status();
  // Rounds run [0, 2], [2.5, 4.5], [5, 7], [7.5, 9.5]; the next ends at 12.
  EXPECT_EQ(m->rounds, 4u);
  EXPECT_EQ(m->iterations_total, 8u);
  // Waits: 1 s per round; the sync cost itself is not idle time.
  EXPECT_DOUBLE_EQ(m->idle_fraction, 4.0 / 20.0);
}

TEST(EngineTest, LocalStepsRunHIterationsPerRound) {
  const Trace trace{"1:3", {{absl::Seconds(1)}, {absl::Seconds(3)}}};
  absl::StatusOr<SimMetrics> m = Simulate(trace, Options("local:H=2", absl::Seconds(12)));
  ASSERT_TRUE(m.ok()) << m.status();
  // Each round takes 6 s (two slow iterations): releases at 6 and 12; the
  // fast worker is 2 ahead from t = 2 to t = 3, then waits 4 s per round.
  EXPECT_EQ(m->rounds, 2u);
  EXPECT_EQ(m->iterations_total, 8u);
  EXPECT_DOUBLE_EQ(m->idle_fraction, 8.0 / 24.0);
  EXPECT_EQ(m->max_staleness, 2u);
}

TEST(EngineTest, SspHoldsTheFastWorkerWithinSPlusOneIterations) {
  absl::StatusOr<SimMetrics> m = Simulate(TwoSpeeds(), Options("ssp:s=2", absl::Seconds(20)));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_LE(m->max_staleness, 3u);
  EXPECT_GT(m->idle_fraction, 0);
  // Held back by the slow worker, the fast one averages its speed: about
  // 10 + 10 iterations, far fewer than ASP's 30.
  EXPECT_GE(m->iterations_total, 20u);
  EXPECT_LE(m->iterations_total, 24u);
}

TEST(EngineTest, DsspRaisesTheThresholdWithinSPlusRMax) {
  // The slow worker's next report is always predicted 2 s after its last,
  // within the fast one's reach, so the fast one keeps being allowed more:
  // its lead climbs past SSP's s + 1 up to s + r_max + 1, never beyond.
  absl::StatusOr<SimMetrics> ssp = Simulate(TwoSpeeds(), Options("ssp:s=1", absl::Seconds(30)));
  absl::StatusOr<SimMetrics> dssp =
      Simulate(TwoSpeeds(), Options("dssp:s=1,r=3", absl::Seconds(30)));
  ASSERT_TRUE(ssp.ok() && dssp.ok()) << ssp.status() << dssp.status();
  EXPECT_EQ(ssp->max_staleness, 2u);
  EXPECT_EQ(dssp->max_staleness, 5u);
  EXPECT_GE(dssp->iterations_total, ssp->iterations_total);
  EXPECT_GT(dssp->waits, 0u);
}

TEST(EngineTest, ElasticBspLetsTheFastWorkerRunMoreIterationsPerRound) {
  absl::StatusOr<SimMetrics> bsp = Simulate(TwoSpeeds(), Options("bsp", absl::Seconds(60)));
  absl::StatusOr<SimMetrics> ebsp = Simulate(TwoSpeeds(), Options("ebsp:R=4", absl::Seconds(60)));
  ASSERT_TRUE(bsp.ok() && ebsp.ok()) << bsp.status() << ebsp.status();
  // Exact speeds: once forecasts have history the plan is two fast
  // iterations per slow one, with no wait at all.
  EXPECT_GT(ebsp->iterations_total, bsp->iterations_total);
  EXPECT_LT(ebsp->idle_fraction, bsp->idle_fraction);
  EXPECT_LE(ebsp->max_staleness, 4u);
}

TEST(EngineTest, RecordedRoundsAreTheRoundsInOrderAndSumToTheTotals) {
  SimOptions options = Options("bsp", absl::Seconds(10));
  options.record_rounds = true;
  absl::StatusOr<SimMetrics> m = Simulate(TwoSpeeds(), options);
  ASSERT_TRUE(m.ok()) << m.status();
  // BSP releases at 2, 4, 6, 8, 10 s; the fast worker waits 1 s in each.
  ASSERT_EQ(m->round_log.size(), 5u);
  for (size_t i = 0; i < m->round_log.size(); ++i) {
    const RoundRecord& r = m->round_log[i];
    EXPECT_EQ(r.round, i) << i;
    EXPECT_DOUBLE_EQ(r.began_s, 2.0 * i) << i;
    EXPECT_DOUBLE_EQ(r.released_s, 2.0 * (i + 1)) << i;
    EXPECT_EQ(r.members, 2) << i;
    EXPECT_DOUBLE_EQ(r.actual_wait_s, 1.0) << i;
    EXPECT_EQ(r.plans, 0) << i;  // BSP does not plan.
  }

  // ElasticBSP: the log sums to the run's actual and predicted totals.
  SimOptions ebsp = Options("ebsp:R=4", absl::Seconds(60));
  ebsp.record_rounds = true;
  absl::StatusOr<SimMetrics> e = Simulate(TwoSpeeds(), ebsp);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->round_log.size(), e->rounds);
  double actual = 0, predicted = 0;
  for (const RoundRecord& r : e->round_log) {
    actual += r.actual_wait_s;
    predicted += r.predicted_wait_s;
    // Exact speeds: a planned round needs no re-plan.
    EXPECT_LE(r.plans, 1) << r.round;
  }
  EXPECT_EQ(e->round_log.back().plans, 1);
  EXPECT_NEAR(actual, e->round_wait_s_total, 1e-9);
  EXPECT_NEAR(predicted, e->round_predicted_wait_s_total, 1e-9);

  // Off by default: nothing is kept.
  absl::StatusOr<SimMetrics> off = Simulate(TwoSpeeds(), Options("bsp", absl::Seconds(10)));
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_TRUE(off->round_log.empty());
}

TEST(EngineTest, SameInputsGiveIdenticalResults) {
  Trace trace{"t",
              {{absl::Milliseconds(110), absl::Milliseconds(90)},
               {absl::Milliseconds(200)},
               {absl::Milliseconds(130), absl::Milliseconds(170)}}};
  for (const char* policy : {"bsp", "ssp:s=1", "dssp:s=1,r=4", "ebsp:R=6"}) {
    absl::StatusOr<SimMetrics> a = Simulate(trace, Options(policy, absl::Seconds(30)));
    absl::StatusOr<SimMetrics> b = Simulate(trace, Options(policy, absl::Seconds(30)));
    ASSERT_TRUE(a.ok() && b.ok()) << policy;
    EXPECT_EQ(a->iterations_total, b->iterations_total) << policy;
    EXPECT_EQ(a->idle_fraction, b->idle_fraction) << policy;
    EXPECT_EQ(a->mean_wait_s, b->mean_wait_s) << policy;
    EXPECT_EQ(a->rounds, b->rounds) << policy;
    EXPECT_EQ(a->max_staleness, b->max_staleness) << policy;
    EXPECT_EQ(a->events, b->events) << policy;
  }
}

// Policies that must coincide: one local step, or a lookahead of 1, is BSP.
TEST(EngineTest, OneLocalStepAndLookaheadOneBehaveExactlyLikeBsp) {
  SuiteOptions suite;
  suite.workers = 8;
  suite.length = absl::Seconds(30);
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kMix, suite);
  ASSERT_TRUE(trace.ok());
  absl::StatusOr<SimMetrics> bsp = Simulate(*trace, Options("bsp", suite.length));
  ASSERT_TRUE(bsp.ok()) << bsp.status();
  for (const char* same : {"local:H=1", "ebsp:R=1"}) {
    absl::StatusOr<SimMetrics> m = Simulate(*trace, Options(same, suite.length));
    ASSERT_TRUE(m.ok()) << same << ": " << m.status();
    EXPECT_EQ(m->iterations_total, bsp->iterations_total) << same;
    EXPECT_EQ(m->rounds, bsp->rounds) << same;
    EXPECT_EQ(m->idle_fraction, bsp->idle_fraction) << same;
    EXPECT_EQ(m->max_staleness, 1u) << same;
  }
}

TEST(EngineTest, SspWithZeroStalenessIsLockstep) {
  absl::StatusOr<SimMetrics> m = Simulate(TwoSpeeds(), Options("ssp:s=0", absl::Seconds(10)));
  ASSERT_TRUE(m.ok()) << m.status();
  // The fast worker may never be ahead after an instant: like BSP, 5 + 5.
  EXPECT_EQ(m->iterations_total, 10u);
  EXPECT_EQ(m->max_staleness, 1u);
  EXPECT_DOUBLE_EQ(m->idle_fraction, 5.0 / 20.0);
}

TEST(EngineTest, ReachingTheEventBoundIsAnError) {
  SimOptions options = Options("asp", absl::Seconds(10));
  options.max_events = 7;
  absl::StatusOr<SimMetrics> m = Simulate(TwoSpeeds(), options);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(m.status().message(), HasSubstr("7 events"));
}

TEST(EngineTest, RejectsBadOptionsNamingTheValue) {
  SimOptions options = Options("bsp", absl::ZeroDuration());
  EXPECT_THAT(Simulate(TwoSpeeds(), options).status().message(),
              HasSubstr("duration must be positive"));
  options = Options("bsp", absl::Seconds(1));
  options.sync_cost = absl::Seconds(-1);
  EXPECT_THAT(Simulate(TwoSpeeds(), options).status().message(), HasSubstr("got -1s"));
  options = Options("bsp", absl::Seconds(1));
  options.oracle = true;
  EXPECT_EQ(Simulate(TwoSpeeds(), options).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Simulate(Trace{"empty", {}}, Options("bsp", absl::Seconds(1))).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ebsp::sim
