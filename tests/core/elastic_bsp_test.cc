// ElasticBSP through JobState: targets from ZipLine, cold start, re-planning.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "lib/core/policy/elastic_bsp_policy.h"
#include "tests/core/round_driver.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

using ::ebsp::core::testing::IterationTime;
using ::ebsp::core::testing::RoundDriver;
using ::ebsp::core::testing::VirtualClock;

IterationTime Constant(double seconds) {
  return [seconds](uint64_t, int) { return absl::Seconds(seconds); };
}

class ElasticBspTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobState> MakeJob(const std::string& policy_text) {
    absl::StatusOr<PolicyConfig> policy = ParsePolicy(policy_text);
    EXPECT_TRUE(policy.ok()) << policy.status();
    JobOptions options;
    options.policy = *policy;
    options.heartbeat_timeout = absl::Hours(24);  // Leases are not the subject here.
    return std::make_unique<JobState>("ebsp", options, clock_.Now());
  }
  VirtualClock clock_;
};

TEST_F(ElasticBspTest, RunsBspUntilWorkersHaveHistory) {
  auto job = MakeJob("ebsp:R=8");
  RoundDriver driver(*job, clock_.Now(), {Constant(1), Constant(3)}, absl::ZeroDuration());
  ASSERT_TRUE(driver.RunRounds(2)) << driver.error();
  // One report per round: two rounds give everyone two reports.
  for (uint64_t round : {0u, 1u}) {
    for (const auto& [id, target] : driver.targets_by_round().at(round)) {
      EXPECT_EQ(target, 1) << "round " << round << " worker " << id;
    }
  }
}

TEST_F(ElasticBspTest, ElasticBspGivesFasterWorkersMoreIterations) {
  for (const std::string policy : {"ebsp:R=8,objective=spread", "ebsp:R=8,objective=total_wait"}) {
    auto job = MakeJob(policy);
    RoundDriver driver(*job, clock_.Now(), {Constant(1), Constant(3)}, absl::ZeroDuration());
    ASSERT_TRUE(driver.RunRounds(6)) << driver.error();
    // From round 2 on the plan lines three fast iterations up with one slow one.
    for (uint64_t round = 2; round < 6; ++round) {
      const auto& targets = driver.targets_by_round().at(round);
      EXPECT_EQ(targets.at(1), 3) << policy << " round " << round;
      EXPECT_EQ(targets.at(2), 1) << policy << " round " << round;
    }
    // A perfect forecast: nobody waits, and the plan said so.
    const RoundSummary& last = driver.summaries().back();
    EXPECT_EQ(last.total_wait, absl::ZeroDuration()) << policy;
    EXPECT_EQ(last.predicted_wait, absl::ZeroDuration()) << policy;
    EXPECT_EQ(driver.replans(), 0) << policy;
  }
}

TEST_F(ElasticBspTest, StalenessCountsIterationsSinceTheLastBarrierNotTotals) {
  auto job = MakeJob("ebsp:R=8");
  RoundDriver driver(*job, clock_.Now(), {Constant(1), Constant(3)}, absl::ZeroDuration());
  uint64_t most_stale = 0;
  ASSERT_TRUE(driver.RunRounds(8, [&](absl::Time now) {
    most_stale = std::max(most_stale, job->Snapshot(now).staleness);
  })) << driver.error();
  // The fast worker runs three iterations a round from round 2 on, so the
  // gap between totals keeps growing; what it ran unsynchronized never
  // exceeded its target.
  const JobSnapshot snap = job->Snapshot(driver.now());
  EXPECT_GE(snap.workers[0].iterations_total, snap.workers[1].iterations_total + 10);
  EXPECT_EQ(most_stale, 3u);
  EXPECT_EQ(snap.staleness, 0u);  // Everyone was just released.
}

TEST_F(ElasticBspTest, PlansFromTheReleaseWithTheRoundOverhead) {
  // Workers of 2 s and 3 s per iteration, each round begins with a 1 s sync.
  auto job = MakeJob("ebsp:R=6,predictor=median");
  RoundDriver driver(*job, clock_.Now(), {Constant(2), Constant(3)}, absl::Seconds(1));
  ASSERT_TRUE(driver.RunRounds(8)) << driver.error();
  const auto& targets = driver.targets_by_round().at(7);
  // 1 + 3 x 2 = 1 + 2 x 3: both end 7 s after the release.
  EXPECT_EQ(targets.at(1), 3);
  EXPECT_EQ(targets.at(2), 2);
  EXPECT_EQ(driver.summaries().back().total_wait, absl::ZeroDuration());
  const JobSnapshot snap = job->Snapshot(driver.now());
  ASSERT_TRUE(snap.planned_sync_time.has_value());
  EXPECT_EQ(*snap.planned_sync_time, snap.round_began + absl::Seconds(7));
}

TEST_F(ElasticBspTest, PredictedWaitIsThePlansTotalWait) {
  // 2 s and 5 s: the best plan for R=3 still leaves the fast worker waiting.
  auto job = MakeJob("ebsp:R=3,objective=total_wait,predictor=latest");
  RoundDriver driver(*job, clock_.Now(), {Constant(2), Constant(5)}, absl::ZeroDuration());
  ASSERT_TRUE(driver.RunRounds(5)) << driver.error();
  const RoundSummary& last = driver.summaries().back();
  EXPECT_GT(last.total_wait, absl::ZeroDuration());
  EXPECT_EQ(last.predicted_wait, last.total_wait);
}

TEST_F(ElasticBspTest, NewcomerWithoutHistoryIsPlannedAsTheSlowestKnownWorker) {
  auto job = MakeJob("ebsp:R=8,objective=spread,binding=plan");
  RoundDriver driver(*job, clock_.Now(), {Constant(1), Constant(2)}, absl::ZeroDuration());
  ASSERT_TRUE(driver.RunRounds(4)) << driver.error();
  // The barrier just released: nobody has started round 4, so the newcomer
  // joins it and the round is planned again with it.
  absl::StatusOr<RegisterResult> newcomer = job->Register(9, "new", driver.now());
  ASSERT_TRUE(newcomer.ok()) << newcomer.status();
  EXPECT_EQ(newcomer->phase, WorkerPhase::kRunning);
  EXPECT_EQ(newcomer->round, 4u);
  EXPECT_TRUE(newcomer->effects.planned);
  const JobSnapshot snap = job->Snapshot(driver.now());
  ASSERT_EQ(snap.workers.size(), 3u);
  EXPECT_EQ(snap.workers[2].worker, 9u);
  EXPECT_EQ(newcomer->target, snap.workers[1].target);  // Planned like the 2 s worker.
  EXPECT_GT(snap.workers[0].target, snap.workers[1].target);
}

TEST_F(ElasticBspTest, ReplanNeverMovesTargetBelowDone) {
  constexpr int kLookahead = 12;
  auto job = MakeJob("ebsp:R=12,predictor=latest,objective=spread,binding=plan");
  // Worker 1 turns from fast to slow in round 4; worker 3 is irregular.
  IterationTime turning = [](uint64_t round, int) { return absl::Seconds(round < 4 ? 1 : 4); };
  IterationTime irregular = [](uint64_t round, int iteration) {
    return absl::Milliseconds(1500 + 700 * static_cast<int>((round * 7 + iteration * 3) % 5));
  };
  RoundDriver driver(*job, clock_.Now(), {turning, Constant(1.5), irregular},
                     absl::Milliseconds(300));
  int checks = 0;
  std::map<WorkerId, int> pinned_targets;  // Targets of workers at the barrier.
  uint64_t round = 0;
  ASSERT_TRUE(driver.RunRounds(12, [&](absl::Time now) {
    const JobSnapshot snap = job->Snapshot(now);
    if (snap.round != round) {
      round = snap.round;
      pinned_targets.clear();
    }
    for (const WorkerSnapshot& w : snap.workers) {
      ++checks;
      EXPECT_GE(w.target, 1) << "worker " << w.worker;
      EXPECT_LE(w.target, kLookahead) << "worker " << w.worker;
      EXPECT_GE(w.target, w.iterations_in_round) << "worker " << w.worker << " round " << round;
      if (w.phase != WorkerPhase::kAtBarrier) continue;
      EXPECT_EQ(w.target, w.iterations_in_round);
      auto [it, inserted] = pinned_targets.emplace(w.worker, w.target);
      EXPECT_EQ(it->second, w.target) << "target of waiting worker " << w.worker << " moved";
    }
  })) << driver.error();
  EXPECT_GT(checks, 100);
  EXPECT_GT(driver.replans(), 0) << "the scenario must drift enough to re-plan";
}

TEST_F(ElasticBspTest, StragglerMidRoundTriggersReplanThatShortensTheRound) {
  auto job = MakeJob("ebsp:R=10,predictor=latest,objective=spread,binding=plan");
  // Worker 1 runs 1 s iterations, except that in round 3 its 3rd one takes 8 s.
  IterationTime straggler = [](uint64_t round, int iteration) {
    return absl::Seconds(round == 3 && iteration == 3 ? 8 : 1);
  };
  RoundDriver driver(*job, clock_.Now(), {straggler, Constant(2.5)}, absl::ZeroDuration());
  ASSERT_TRUE(driver.RunRounds(3)) << driver.error();
  // Five 1 s iterations meet two 2.5 s ones.
  ASSERT_EQ(driver.targets_by_round().at(2).at(1), 5);
  ASSERT_EQ(driver.targets_by_round().at(2).at(2), 2);
  const int replans_before = driver.replans();
  ASSERT_TRUE(driver.RunRounds(1)) << driver.error();
  EXPECT_EQ(driver.replans(), replans_before + 1);
  // The slow step ends at 10 s while worker 2 waits since 5 s: sync now.
  EXPECT_EQ(driver.targets_by_round().at(3).at(1), 3);
  EXPECT_EQ(driver.summaries().back().total_wait, absl::Seconds(5));
}

}  // namespace
}  // namespace ebsp::core
