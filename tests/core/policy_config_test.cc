// PolicyConfig: parsing, printing, validation.
#include "lib/core/policy/policy_config.h"

#include <ostream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebsp::core {
namespace {

using ::testing::HasSubstr;

class ParsePolicyRoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ParsePolicyRoundTripTest, CanonicalTextParsesAndPrintsBackUnchanged) {
  absl::StatusOr<PolicyConfig> parsed = ParsePolicy(GetParam());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->ToString(), GetParam());
  absl::StatusOr<PolicyConfig> again = ParsePolicy(parsed->ToString());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ToString(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Canonical, ParsePolicyRoundTripTest,
                         ::testing::Values("bsp", "asp", "ssp:s=0", "ssp:s=7", "local:H=1",
                                           "local:H=4", "ebsp:R=15,objective=spread,predictor=ewma",
                                           "ebsp:R=1,objective=total_wait,predictor=latest",
                                           "ebsp:R=4096,objective=spread,predictor=median",
                                           "ebsp:R=15,objective=idle_rate,predictor=ewma",
                                           "ebsp:R=15,objective=spread,predictor=ewma,binding=plan",
                                           "dssp:s=3,r=12,predictor=ewma",
                                           "dssp:s=0,r=1,predictor=latest",
                                           "dssp:s=7,r=4096,predictor=median"));

TEST(ParsePolicyTest, DsspDefaultsToSThreeAndRTwelve) {
  absl::StatusOr<PolicyConfig> parsed = ParsePolicy("dssp");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->ToString(), "dssp:s=3,r=12,predictor=ewma");
  parsed = ParsePolicy("dssp:staleness=2,staleness_range=5");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->kind, PolicyKind::kDssp);
  EXPECT_EQ(parsed->staleness, 2);
  EXPECT_EQ(parsed->staleness_range, 5);
  EXPECT_FALSE(parsed->HasRounds());
  EXPECT_TRUE(parsed->HasClocks());
}

TEST(ParsePolicyTest, EbspDefaultsToPaperLookaheadIdleRateEwmaAndLateBinding) {
  absl::StatusOr<PolicyConfig> parsed = ParsePolicy("ebsp");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->kind, PolicyKind::kElasticBsp);
  EXPECT_EQ(parsed->lookahead, kDefaultLookahead);
  EXPECT_EQ(parsed->objective, PlanObjective::kIdleRate);
  EXPECT_EQ(parsed->predictor, PredictorKind::kEwma);
  EXPECT_EQ(parsed->binding, TargetBinding::kLate);
  EXPECT_EQ(parsed->ToString(), "ebsp:R=15,objective=idle_rate,predictor=ewma");
}

TEST(ParsePolicyTest, AcceptsLongKeysAliasesAndSpaces) {
  absl::StatusOr<PolicyConfig> parsed =
      ParsePolicy(" elasticbsp : lookahead = 8 , predictor = median ");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->ToString(), "ebsp:R=8,objective=idle_rate,predictor=median");
  absl::StatusOr<PolicyConfig> local = ParsePolicy("local_steps:local_steps=3");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->ToString(), "local:H=3");
}

TEST(ParsePolicyTest, HasRoundsOnlyForBarrierPolicies) {
  EXPECT_TRUE(ParsePolicy("bsp")->HasRounds());
  EXPECT_TRUE(ParsePolicy("ebsp")->HasRounds());
  EXPECT_TRUE(ParsePolicy("local:H=2")->HasRounds());
  EXPECT_FALSE(ParsePolicy("asp")->HasRounds());
  EXPECT_FALSE(ParsePolicy("ssp:s=2")->HasRounds());
}

struct BadPolicy {
  std::string name;
  std::string text;
  std::string message_part;
};

void PrintTo(const BadPolicy& bad, std::ostream* os) { *os << '"' << bad.text << '"'; }

class ParsePolicyErrorTest : public ::testing::TestWithParam<BadPolicy> {};

TEST_P(ParsePolicyErrorTest, RejectsWithInvalidArgumentNamingTheBadPart) {
  absl::StatusOr<PolicyConfig> parsed = ParsePolicy(GetParam().text);
  ASSERT_FALSE(parsed.ok()) << GetParam().text << " parsed as " << parsed->ToString();
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(GetParam().message_part));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ParsePolicyErrorTest,
    ::testing::Values(BadPolicy{"Empty", "", "empty policy"},
                      BadPolicy{"UnknownKind", "foo", "\"foo\""},
                      BadPolicy{"LookaheadZero", "ebsp:R=0", "R=0"},
                      BadPolicy{"LookaheadTooLarge", "ebsp:R=5000", "R=5000"},
                      BadPolicy{"LookaheadNotInteger", "ebsp:R=abc", "R=\"abc\""},
                      BadPolicy{"LookaheadFraction", "ebsp:R=1.5", "R=\"1.5\""},
                      BadPolicy{"NegativeStaleness", "ssp:s=-1", "s=-1"},
                      BadPolicy{"ZeroLocalSteps", "local:H=0", "H=0"},
                      BadPolicy{"UnknownObjective", "ebsp:objective=fast", "\"fast\""},
                      BadPolicy{"UnknownPredictor", "ebsp:predictor=oracle", "\"oracle\""},
                      BadPolicy{"UnknownBinding", "ebsp:binding=early", "\"early\""},
                      BadPolicy{"BindingOfAnotherPolicy", "dssp:binding=late",
                                "\"binding\" does not apply to dssp"},
                      BadPolicy{"KeyOfAnotherPolicy", "bsp:R=3", "\"R\" does not apply to bsp"},
                      BadPolicy{"DuplicateKey", "ebsp:R=3,lookahead=4", "given twice"},
                      BadPolicy{"NotKeyValue", "ebsp:R", "\"R\""},
                      BadPolicy{"ColonWithoutParameters", "ebsp:", "no parameters"},
                      BadPolicy{"UnknownKey", "ssp:x=1", "\"x\""},
                      BadPolicy{"DsspRangeZero", "dssp:s=3,r=0", "r=0"},
                      BadPolicy{"DsspRangeNegative", "dssp:r=-2", "r=-2"},
                      BadPolicy{"DsspRangeTooLarge", "dssp:r=4097", "r=4097"},
                      BadPolicy{"DsspNegativeStaleness", "dssp:s=-1,r=3", "s=-1"},
                      BadPolicy{"DsspOverflow", "dssp:s=2147483647,r=1", "overflows"},
                      BadPolicy{"DsspTakesNoLookahead", "dssp:R=3", "\"R\" does not apply to dssp"},
                      BadPolicy{"RangeOnSsp", "ssp:r=3", "\"r\" does not apply to ssp"},
                      BadPolicy{"DsspDuplicateRange", "dssp:r=3,staleness_range=4", "given twice"}),
    [](const ::testing::TestParamInfo<BadPolicy>& info) { return info.param.name; });

TEST(PolicyConfigValidateTest, NamesTheParameterAndItsValue) {
  PolicyConfig config;
  config.lookahead = 0;
  EXPECT_THAT(std::string(config.Validate().message()), HasSubstr("lookahead R=0"));
  config = PolicyConfig{};
  config.staleness = -2;
  EXPECT_THAT(std::string(config.Validate().message()), HasSubstr("s=-2"));
  config = PolicyConfig{};
  config.local_steps = -1;
  EXPECT_THAT(std::string(config.Validate().message()), HasSubstr("H=-1"));
  EXPECT_TRUE(PolicyConfig{}.Validate().ok());
}

}  // namespace
}  // namespace ebsp::core
