// Late binding (docs/planning.md): ElasticBspPolicy::BindTarget on its own in
// virtual time, and through JobState the promises a target makes to a client.
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "lib/core/policy/elastic_bsp_policy.h"
#include "lib/core/policy/policy_config.h"
#include "tests/core/round_driver.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

using ::ebsp::core::testing::IterationTime;
using ::ebsp::core::testing::RoundDriver;
using ::ebsp::core::testing::VirtualClock;

class LateBindingPolicyTest : public ::testing::Test {
 protected:
  // A member whose predictor (a windowed median, which one late report does
  // not move) saw steady reports every `interval`.
  void AddMember(absl::Duration interval) {
    testing::AddSteadyMember(PredictorKind::kWindowedMedian, interval, 4, start_, predictors_,
                             members_);
  }

  // The first plan's targets become the members' targets, as JobState does.
  RoundTargets Start(ElasticBspPolicy& policy) {
    RoundTargets t = policy.StartRound(members_, start_);
    for (size_t i = 0; i < members_.size(); ++i) members_[i].target = t.targets[i];
    return t;
  }

  // Member i reports iteration `done` at `at` seconds; returns its new target.
  int Report(ElasticBspPolicy& policy, size_t i, int done, double at) {
    const absl::Time when = start_ + absl::Seconds(at);
    predictors_[i]->ObserveIteration(when, absl::Seconds(1));
    members_[i].done = done;
    members_[i].last_report = when;
    std::optional<int> target = policy.BindTarget(members_[i], when);
    EXPECT_TRUE(target.has_value());
    members_[i].target = target.value_or(members_[i].target);
    return members_[i].target;
  }

  static ElasticBspPolicy Make(const std::string& text) {
    return ElasticBspPolicy(*ParsePolicy(text));
  }

  const absl::Time start_ = absl::UnixEpoch() + absl::Hours(10);
  std::vector<std::unique_ptr<IterationPredictor>> predictors_;
  std::vector<RoundMember> members_;
};

TEST_F(LateBindingPolicyTest, CommitsHalfThePlanAndContinuesWhileTheNextIterationFits) {
  AddMember(absl::Seconds(1));
  AddMember(absl::Milliseconds(2500));
  ElasticBspPolicy policy = Make("ebsp:R=8,predictor=median");
  // idle_rate: 5 x 1 s meet 2 x 2.5 s at 5 s with no wait.
  RoundTargets t = Start(policy);
  ASSERT_TRUE(t.planned);
  EXPECT_EQ(t.targets, (std::vector<int>{2, 1}));  // Half of 5 and of 2, at least 1.
  EXPECT_EQ(t.sync_time, start_ + absl::Seconds(5));
  EXPECT_EQ(policy.estimate().Estimate(), start_ + absl::Seconds(5));
  EXPECT_EQ(Report(policy, 0, 1, 1), 2);  // Committed: continue.
  EXPECT_EQ(Report(policy, 0, 2, 2), 3);  // Ends at 3 <= 5: one more.
  EXPECT_EQ(Report(policy, 1, 1, 2.5), 2);
  EXPECT_EQ(Report(policy, 0, 3, 3), 4);
  EXPECT_EQ(Report(policy, 0, 4, 4), 5);
  EXPECT_EQ(Report(policy, 0, 5, 5), 5);  // 6 > 5: sync now.
  EXPECT_EQ(Report(policy, 1, 2, 5), 2);  // 7.5 > 5: sync now.
  EXPECT_EQ(policy.estimate().size(), 0u);
}

TEST_F(LateBindingPolicyTest, AMemberThatTurnsStragglerStopsAtItsCommitment) {
  AddMember(absl::Seconds(1));
  AddMember(absl::Milliseconds(3500));
  ElasticBspPolicy policy = Make("ebsp:R=8,predictor=median");
  // idle_rate: 7 x 1 s meet 2 x 3.5 s at 7 s with no wait.
  RoundTargets t = Start(policy);
  ASSERT_EQ(t.targets, (std::vector<int>{3, 1}));
  // Member 1's iterations take 3 s from the start of the round: planned for
  // 7 (21 s), it is held to the 3 it was promised, and stops at 9 s.
  EXPECT_EQ(Report(policy, 0, 1, 3), 3);
  EXPECT_EQ(Report(policy, 0, 2, 6), 3);
  EXPECT_EQ(Report(policy, 0, 3, 9), 3);  // Its commitment, and 9 + 3 > 7: sync.
}

TEST_F(LateBindingPolicyTest, AMissingSlowMemberRaisesTheEstimateSoAFastOneFills) {
  for (bool slow_arrived : {false, true}) {
    members_.clear();
    predictors_.clear();
    AddMember(absl::Seconds(1));
    AddMember(absl::Milliseconds(2500));
    ElasticBspPolicy policy = Make("ebsp:R=15,predictor=median");
    ASSERT_TRUE(Start(policy).planned);
    ASSERT_EQ(policy.estimate().Estimate(), start_ + absl::Seconds(5));
    if (slow_arrived) {
      EXPECT_EQ(Report(policy, 1, 1, 2.5), 2);
      EXPECT_EQ(Report(policy, 1, 2, 5), 2);  // Synced at 5 s.
    }
    // The fast member's own 5th iteration came late, at 6.5 s. If the slow
    // member (promised at 2.5 s) has not reported yet, it is 4 s late and
    // expected a quarter of that after now, at 7.5 s, so one more 1 s
    // iteration fits. If it synchronized, the barrier is the plan's 5 s.
    for (int done = 1; done <= 4; ++done) Report(policy, 0, done, done);
    const int target = Report(policy, 0, 5, 6.5);
    if (slow_arrived) {
      EXPECT_EQ(target, 5) << "sync now";
    } else {
      EXPECT_EQ(target, 6) << "continue";
      EXPECT_EQ(policy.estimate().Estimate(), start_ + absl::Seconds(7.5));
    }
  }
}

TEST_F(LateBindingPolicyTest, ADepartedMemberNoLongerHoldsTheBarrierEstimate) {
  AddMember(absl::Seconds(1));
  AddMember(absl::Seconds(1));
  ElasticBspPolicy policy = Make("ebsp:R=4,predictor=latest");
  ASSERT_TRUE(Start(policy).planned);
  EXPECT_EQ(policy.estimate().size(), 2u);
  policy.OnMemberRemoved(members_[1].id);
  EXPECT_EQ(policy.estimate().size(), 1u);
  policy.OnMemberRemoved(99);  // Unknown: ignored.
  EXPECT_EQ(policy.estimate().size(), 1u);
}

TEST_F(LateBindingPolicyTest, PlanBindingLeavesTargetsToReplans) {
  AddMember(absl::Seconds(1));
  AddMember(absl::Seconds(2));
  ElasticBspPolicy policy = Make("ebsp:R=8,predictor=latest,binding=plan");
  ASSERT_TRUE(Start(policy).planned);
  members_[0].done = 1;
  EXPECT_FALSE(policy.BindTarget(members_[0], start_ + absl::Seconds(1)).has_value());
}

TEST_F(LateBindingPolicyTest, WithoutAPlanTheTargetStays) {
  AddMember(absl::Seconds(1));
  auto cold = MakePredictor(PredictorKind::kLatestInterval);  // No history: BSP round.
  cold->StartRound(start_);
  members_[0].predictor = cold.get();
  ElasticBspPolicy policy = Make("ebsp:R=8");
  EXPECT_FALSE(policy.StartRound(members_, start_).planned);
  members_[0].done = 1;
  members_[0].target = 1;
  EXPECT_FALSE(policy.BindTarget(members_[0], start_ + absl::Seconds(1)).has_value());
}

// Through JobState: what a client is told keeps its meaning. A worker trains
// up to its target when it hears nothing (a coordinator outage), so once it
// has reported in a round its target never moves down; it stays within
// [done, R]; and a worker at the barrier ran exactly its target.
TEST(LateBindingJobTest, TargetsNeverMoveDownStayWithinRAndEndAtTheBarrier) {
  constexpr int kLookahead = 10;
  VirtualClock clock;
  JobOptions options;
  options.policy = *ParsePolicy("ebsp:R=10");
  options.heartbeat_timeout = absl::Hours(24);
  JobState job("late", options, clock.Now());
  // A steady worker, one that turns slow, a noisy one, one with hiccups.
  IterationTime steady = [](uint64_t, int) { return absl::Seconds(1); };
  IterationTime turning = [](uint64_t round, int) { return absl::Seconds(round < 6 ? 1 : 3); };
  IterationTime noisy = [](uint64_t round, int iteration) {
    std::mt19937_64 rng(round * 1000 + static_cast<uint64_t>(iteration));
    return absl::Milliseconds(1200 + static_cast<int64_t>(rng() % 1600));
  };
  IterationTime hiccups = [](uint64_t round, int iteration) {
    return absl::Milliseconds((round * 7 + static_cast<uint64_t>(iteration)) % 11 == 0 ? 9000
                                                                                       : 1500);
  };
  RoundDriver driver(job, clock.Now(), {steady, turning, noisy, hiccups}, absl::Milliseconds(200));
  std::map<WorkerId, std::pair<uint64_t, WorkerSnapshot>> last;  // Per worker: round, view.
  int checks = 0;
  ASSERT_TRUE(driver.RunRounds(30, [&](absl::Time now) {
    const JobSnapshot snap = job.Snapshot(now);
    for (const WorkerSnapshot& w : snap.workers) {
      ++checks;
      EXPECT_GE(w.target, 1) << "worker " << w.worker;
      EXPECT_LE(w.target, kLookahead) << "worker " << w.worker;
      EXPECT_GE(w.target, w.iterations_in_round) << "worker " << w.worker;
      if (w.phase == WorkerPhase::kAtBarrier) {
        EXPECT_EQ(w.target, w.iterations_in_round);
      }
      auto it = last.find(w.worker);
      if (it != last.end() && it->second.first == snap.round &&
          it->second.second.iterations_in_round >= 1) {
        EXPECT_GE(w.target, it->second.second.target)
            << "worker " << w.worker << " round " << snap.round << " target moved down";
      }
      last[w.worker] = {snap.round, w};
    }
  })) << driver.error();
  EXPECT_GT(checks, 1000);
  // Late binding did bind: some worker ran more than its round-start commitment.
  bool extended = false;
  for (const auto& [round, targets] : driver.targets_by_round()) {
    for (const auto& [id, target] : targets) extended |= target > kLookahead / 2;
  }
  EXPECT_TRUE(extended);
}

}  // namespace
}  // namespace ebsp::core
