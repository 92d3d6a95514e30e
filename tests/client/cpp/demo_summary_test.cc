// The demo's policy list, job names and comparison table.
#include "gtest/gtest.h"
#include "tools/demo/summary.h"

namespace ebsp::demo {
namespace {

TEST(SplitPolicyListTest, StartsANewPolicyOnlyAtAPolicyName) {
  absl::StatusOr<std::vector<std::string>> policies =
      SplitPolicyList("bsp,ebsp:R=8,objective=total_wait,local:H=4");
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_EQ(*policies,
            (std::vector<std::string>{"bsp", "ebsp:R=8,objective=total_wait", "local:H=4"}));
}

TEST(SplitPolicyListTest, NamesTheInvalidPolicy) {
  absl::StatusOr<std::vector<std::string>> policies = SplitPolicyList("bsp,ebsp:R=0");
  EXPECT_EQ(policies.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(policies.status().message().find("ebsp:R=0"), absl::string_view::npos);
  EXPECT_EQ(SplitPolicyList("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JobNameTest, ReplacesCharactersAJobNameMayNotHold) {
  EXPECT_EQ(JobName("demo", "17", 1, "ebsp:R=8,objective=total_wait"),
            "demo-17-1-ebsp_R_8_objective_total_wait");
  EXPECT_EQ(JobName(std::string(200, 'x'), "1", 0, "bsp").size(), 128u);
}

TEST(FormatSummaryTest, ListsEveryPhaseAndTheSpeedupOverBsp) {
  PhaseResult bsp;
  bsp.policy_text = "bsp";
  bsp.iterations_per_second = 100;
  bsp.idle_fraction = 0.4;
  bsp.rounds = 500;
  PhaseResult ebsp = bsp;
  ebsp.policy_text = "ebsp:R=8";
  ebsp.iterations_per_second = 150;
  ebsp.idle_fraction = 0.05;
  ebsp.rounds = 90;
  const std::string table = FormatSummary({bsp, ebsp});
  EXPECT_NE(table.find("policy"), std::string::npos);
  EXPECT_NE(table.find("bsp "), std::string::npos);
  EXPECT_NE(table.find("0.400"), std::string::npos);
  EXPECT_NE(table.find("speedup of ElasticBSP (ebsp:R=8) over BSP: 1.50x"), std::string::npos)
      << table;
}

TEST(FormatSummaryTest, OmitsTheSpeedupWithoutABspPhase) {
  PhaseResult ebsp;
  ebsp.policy_text = "ebsp:R=8";
  ebsp.iterations_per_second = 150;
  EXPECT_EQ(FormatSummary({ebsp}).find("speedup"), std::string::npos);
}

TEST(FormatTargetsTest, PrintsTargetsInWorkerOrderAndDashForMissingOnes) {
  EXPECT_EQ(FormatTargets({"w00", "w01", "w02"}, {{"w02", 3}, {"w00", 1}}), "1 - 3");
}

}  // namespace
}  // namespace ebsp::demo
