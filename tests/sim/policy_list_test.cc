#include "tools/sim/policy_list.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/policy/policy_config.h"

namespace ebsp::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Labels(const std::vector<SimPolicy>& policies) {
  std::vector<std::string> labels;
  for (const SimPolicy& policy : policies) labels.push_back(policy.label);
  return labels;
}

TEST(PolicyListTest, ParametersAfterCommasStayWithTheirPolicy) {
  absl::StatusOr<std::vector<SimPolicy>> policies =
      ParsePolicyList("bsp, ebsp:R=8,objective=total_wait,predictor=latest,ssp:s=2", false);
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_THAT(Labels(*policies),
              ElementsAre("bsp", "ebsp:R=8,objective=total_wait,predictor=latest", "ssp:s=2"));
  const core::PolicyConfig& ebsp = (*policies)[1].config;
  EXPECT_EQ(ebsp.kind, core::PolicyKind::kElasticBsp);
  EXPECT_EQ(ebsp.lookahead, 8);
  EXPECT_EQ(ebsp.objective, core::PlanObjective::kTotalWait);
  EXPECT_EQ(ebsp.predictor, core::PredictorKind::kLatestInterval);
  EXPECT_EQ((*policies)[2].config.staleness, 2);
}

TEST(PolicyListTest, APolicyMayBeginWithAnyNameParsePolicyAccepts) {
  // The aliases ParsePolicy knows start a new policy too, not only the
  // short names.
  absl::StatusOr<std::vector<SimPolicy>> policies =
      ParsePolicyList("bsp,elastic_bsp:R=4,objective=total_wait,local_steps:H=2", false);
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_THAT(Labels(*policies),
              ElementsAre("bsp", "elastic_bsp:R=4,objective=total_wait", "local_steps:H=2"));
  EXPECT_EQ((*policies)[1].config.kind, core::PolicyKind::kElasticBsp);
  EXPECT_EQ((*policies)[1].config.lookahead, 4);
  EXPECT_EQ((*policies)[2].config.local_steps, 2);
}

TEST(PolicyListTest, AllExpandsToTheComparisonSetWithOracles) {
  absl::StatusOr<std::vector<SimPolicy>> policies = ParsePolicyList("all", true);
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_THAT(Labels(*policies),
              ElementsAre("bsp", "asp", "ssp:s=3", "dssp:s=3,r=12", "local:H=4", "ebsp:R=15",
                          "ebsp-oracle:R=15,objective=idle_rate", "ebsp:R=15,objective=spread",
                          "ebsp-oracle:R=15,objective=spread", "ebsp:R=15,objective=total_wait",
                          "ebsp-oracle:R=15,objective=total_wait", "ebsp:R=15,binding=plan"));
  for (const SimPolicy& policy : *policies) {
    EXPECT_EQ(policy.oracle, policy.label.rfind("ebsp-oracle", 0) == 0);
  }
}

TEST(PolicyListTest, PoliciesDifferingOnlyInPredictorShareOneOracle) {
  absl::StatusOr<std::vector<SimPolicy>> policies =
      ParsePolicyList("ebsp:R=4,predictor=latest,ebsp:R=4,predictor=median", true);
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_THAT(Labels(*policies),
              ElementsAre("ebsp:R=4,predictor=latest", "ebsp-oracle:R=4,objective=idle_rate",
                          "ebsp:R=4,predictor=median"));
}

TEST(PolicyListTest, RejectsBadItemsNamingThem) {
  absl::StatusOr<std::vector<SimPolicy>> bad = ParsePolicyList("bsp,ebsp:R=0", false);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'ebsp:R=0'"));
  EXPECT_THAT(ParsePolicyList("bsp,bsp", false).status().message(), HasSubstr("listed twice"));
  EXPECT_FALSE(ParsePolicyList(" , ", false).ok());
  EXPECT_FALSE(ParsePolicyList("gossip", false).ok());
}

}  // namespace
}  // namespace ebsp::sim
