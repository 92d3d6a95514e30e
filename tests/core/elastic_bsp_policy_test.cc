// ElasticBspPolicy on its own: cold start, drift threshold, re-plan budget.
#include "lib/core/policy/elastic_bsp_policy.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "lib/core/policy/policy_config.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

class ElasticBspPolicyTest : public ::testing::Test {
 protected:
  // A member whose predictor saw reports every `interval` in one past round.
  void AddMember(absl::Duration interval, int reports) {
    testing::AddSteadyMember(PredictorKind::kLatestInterval, interval, reports, start_, predictors_,
                             members_);
  }

  ElasticBspPolicy MakePolicy(int lookahead) {
    // The plan and its drift re-plans (binding=plan), under the paper's objective.
    PolicyConfig config = *ParsePolicy("ebsp:predictor=latest,objective=spread,binding=plan");
    config.lookahead = lookahead;
    return ElasticBspPolicy(config);
  }

  // members_[i] reported iteration `done` at `at`.
  void Reported(size_t i, int done, absl::Time at) {
    predictors_[i]->ObserveIteration(at, absl::Seconds(1));
    members_[i].done = done;
    members_[i].last_report = at;
  }

  const absl::Time start_ = absl::UnixEpoch() + absl::Hours(10);
  std::vector<std::unique_ptr<IterationPredictor>> predictors_;
  std::vector<RoundMember> members_;
};

TEST_F(ElasticBspPolicyTest, WithoutHistoryEveryTargetIsOne) {
  AddMember(absl::Seconds(1), 1);
  AddMember(absl::Seconds(3), 0);
  ElasticBspPolicy policy = MakePolicy(8);
  RoundTargets targets = policy.StartRound(members_, start_);
  EXPECT_EQ(targets.targets, (std::vector<int>{1, 1}));
  EXPECT_FALSE(targets.planned);
  EXPECT_FALSE(targets.sync_time.has_value());
}

TEST_F(ElasticBspPolicyTest, MemberWithoutHistoryIsPlannedAsTheSlowest) {
  AddMember(absl::Seconds(1), 3);
  AddMember(absl::Seconds(4), 3);
  AddMember(absl::Seconds(1), 1);  // One report: no history yet.
  ElasticBspPolicy policy = MakePolicy(8);
  RoundTargets targets = policy.StartRound(members_, start_);
  ASSERT_TRUE(targets.planned);
  EXPECT_EQ(targets.targets, (std::vector<int>{4, 1, 1}));
  EXPECT_EQ(targets.sync_time, start_ + absl::Seconds(4));
}

TEST_F(ElasticBspPolicyTest, ReplansOnlyWhenDriftExceedsAQuarterInterval) {
  AddMember(absl::Seconds(1), 3);
  AddMember(absl::Seconds(4), 3);
  ElasticBspPolicy policy = MakePolicy(8);
  ASSERT_TRUE(policy.StartRound(members_, start_).planned);
  // Expected at 1 s; 1.25 s is exactly a quarter interval late: no re-plan.
  Reported(0, 1, start_ + absl::Milliseconds(1250));
  EXPECT_FALSE(policy.WantsReplan(members_[0], start_ + absl::Milliseconds(1250)));
  // Expected at 2.25 s (1.25 s interval now); 3 s is 0.75 s off.
  Reported(0, 2, start_ + absl::Seconds(3));
  EXPECT_TRUE(policy.WantsReplan(members_[0], start_ + absl::Seconds(3)));
  std::optional<RoundTargets> replanned = policy.Replan(members_, 0, start_ + absl::Seconds(3));
  ASSERT_TRUE(replanned.has_value());
  EXPECT_GE(replanned->targets[0], 2);
  EXPECT_GE(replanned->targets[1], 1);
}

TEST_F(ElasticBspPolicyTest, ReplansPerRoundAreBoundedByThePointBudget) {
  // 20000 members x R = 15 is 300k points a plan: the budget allows the
  // minimum of kMinReplansPerRound re-plans.
  constexpr int kMembers = 20000;
  for (int i = 0; i < kMembers; ++i) AddMember(absl::Seconds(1 + i % 2), 3);
  ElasticBspPolicy policy = MakePolicy(15);
  ASSERT_TRUE(policy.StartRound(members_, start_).planned);
  int replans = 0;
  int drifted = 0;
  // Ten 1 s workers report their first iteration, each 0.6 s after the
  // previous one: every report is off its forecast by more than a quarter.
  for (int j = 0; j < 10; ++j) {
    const size_t who = 2 * j;
    const absl::Time at = start_ + absl::Milliseconds(1500 + 600 * j);
    Reported(who, 1, at);
    if (!policy.WantsReplan(members_[who], at)) continue;
    ++drifted;
    std::optional<RoundTargets> replanned = policy.Replan(members_, who, at);
    ASSERT_TRUE(replanned.has_value());
    ++replans;
    for (size_t i = 0; i < members_.size(); ++i) members_[i].target = replanned->targets[i];
  }
  EXPECT_EQ(drifted, kMinReplansPerRound);  // Then WantsReplan stops asking.
  EXPECT_EQ(replans, kMinReplansPerRound);
}

}  // namespace
}  // namespace ebsp::core
