// The client's policy text: the core's parser (ParsePolicy) read into the
// wire Policy, and PolicyToText back, for the tools that show policies.
#include "clients/cpp/ebsp/policy_text.h"

#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lib/core/policy/policy_config.h"

namespace ebsp::testing {
namespace {

namespace v1 = ::elasticbsp::v1;
using ::ebsp::client::HasRounds;
using ::ebsp::client::ParsePolicyText;
using ::ebsp::client::PolicyToText;
using ::google::protobuf::util::MessageDifferencer;

TEST(PolicyTextTest, ParsesEveryKindWithItsParameters) {
  absl::StatusOr<v1::Policy> p = ParsePolicyText("ebsp:R=30,objective=total_wait,predictor=median");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind(), v1::POLICY_KIND_ELASTIC_BSP);
  EXPECT_EQ(p->lookahead(), 30u);
  EXPECT_EQ(p->objective(), v1::OBJECTIVE_TOTAL_WAIT);
  EXPECT_EQ(p->predictor(), v1::PREDICTOR_KIND_WINDOWED_MEDIAN);

  p = ParsePolicyText("ssp:s=4");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind(), v1::POLICY_KIND_SSP);
  EXPECT_EQ(p->staleness(), 4u);

  p = ParsePolicyText("local:H=8");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind(), v1::POLICY_KIND_LOCAL_STEPS);
  EXPECT_EQ(p->local_steps(), 8u);

  p = ParsePolicyText("bsp");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind(), v1::POLICY_KIND_BSP);
  p = ParsePolicyText("asp");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind(), v1::POLICY_KIND_ASP);
}

TEST(PolicyTextTest, ParametersTheTextLeavesOutTakeTheCoresDefaults) {
  absl::StatusOr<v1::Policy> p = ParsePolicyText("ebsp:R=8");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->lookahead(), 8u);
  EXPECT_EQ(p->objective(), v1::OBJECTIVE_IDLE_RATE);
  EXPECT_EQ(p->predictor(), v1::PREDICTOR_KIND_EWMA);

  p = ParsePolicyText("ebsp");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->lookahead(), static_cast<uint32_t>(core::kDefaultLookahead));
}

TEST(PolicyTextTest, RejectionsAreInvalidArgumentNamingTheBadPart) {
  struct Case {
    const char* text;
    const char* names;
  };
  for (const Case& c :
       {Case{"gossip", "gossip"}, Case{"ebsp:R=x", "R=\"x\""}, Case{"ebsp:R=-1", "R=-1"},
        Case{"ebsp:R=0", "R=0"}, Case{"ssp:R=3", "\"R\""}, Case{"ebsp:objective=fast", "fast"},
        Case{"ebsp:R", "\"R\""}, Case{"ebsp:predictor=oracle", "oracle"},
        Case{"ebsp:R=4,R=5", "twice"}, Case{"", "empty"}, Case{"default", "default"},
        Case{"ebsp:R=8,binding=plan", "--default_policy"}}) {
    absl::StatusOr<v1::Policy> p = ParsePolicyText(c.text);
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(p.status().message().find(c.names), absl::string_view::npos)
        << c.text << ": " << p.status();
  }
}

TEST(PolicyTextTest, CanonicalTextRoundTrips) {
  for (const char* text : {"bsp", "asp", "ssp:s=3", "ssp:s=0", "local:H=4",
                           "ebsp:R=15,objective=spread,predictor=ewma",
                           "ebsp:R=150,objective=total_wait,predictor=latest",
                           "ebsp:R=4096,objective=spread,predictor=median"}) {
    absl::StatusOr<v1::Policy> p = ParsePolicyText(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_EQ(PolicyToText(*p), text);
  }
}

TEST(PolicyTextTest, TextOfAParsedPolicyIsTheCoresCanonicalForm) {
  for (const char* text :
       {"ebsp:R=8", "ebsp", " ebsp : lookahead = 8 , objective=total_wait",
        "elastic_bsp:predictor=latest", "local_steps:local_steps=2", "ssp:staleness=5", "local"}) {
    absl::StatusOr<v1::Policy> p = ParsePolicyText(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    absl::StatusOr<core::PolicyConfig> config = core::ParsePolicy(text);
    ASSERT_TRUE(config.ok()) << text << ": " << config.status();
    const std::string canonical = PolicyToText(*p);
    EXPECT_EQ(canonical, config->ToString()) << text;

    absl::StatusOr<v1::Policy> again = ParsePolicyText(canonical);
    ASSERT_TRUE(again.ok()) << canonical << ": " << again.status();
    EXPECT_TRUE(MessageDifferencer::Equals(*again, *p))
        << text << " -> " << canonical << ": " << again->ShortDebugString() << " vs "
        << p->ShortDebugString();
  }
}

TEST(PolicyTextTest, EmptyPolicyIsTheCoordinatorsDefault) {
  EXPECT_EQ(PolicyToText(v1::Policy()), "default");
}

TEST(PolicyTextTest, UnsetFieldsReadAsTheProtoDefinesThem) {
  v1::Policy ebsp;
  ebsp.set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  ebsp.set_lookahead(8);
  EXPECT_EQ(PolicyToText(ebsp), "ebsp:R=8,objective=idle_rate,predictor=ewma");

  v1::Policy local;
  local.set_kind(v1::POLICY_KIND_LOCAL_STEPS);
  EXPECT_EQ(PolicyToText(local), "local:H=1");

  v1::Policy ssp;
  ssp.set_kind(v1::POLICY_KIND_SSP);
  EXPECT_EQ(PolicyToText(ssp), "ssp:s=0");

  v1::Policy bsp;
  bsp.set_kind(v1::POLICY_KIND_BSP);
  EXPECT_EQ(PolicyToText(bsp), "bsp");
}

TEST(PolicyTextTest, PolicyTheTextCannotExpressIsShownAsItsFields) {
  struct Case {
    v1::Policy policy;
    const char* names;
  };
  v1::Policy default_lookahead;  // Resolved by each coordinator's own default.
  default_lookahead.set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  v1::Policy unknown_kind;
  unknown_kind.set_kind(static_cast<v1::PolicyKind>(99));
  v1::Policy unknown_objective;
  unknown_objective.set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  unknown_objective.set_lookahead(8);
  unknown_objective.set_objective(static_cast<v1::Objective>(7));
  v1::Policy lookahead_too_large;
  lookahead_too_large.set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  lookahead_too_large.set_lookahead(core::kMaxLookahead + 1);
  v1::Policy fields_without_kind;
  fields_without_kind.set_lookahead(8);
  for (const Case& c :
       {Case{default_lookahead, "kind: POLICY_KIND_ELASTIC_BSP"}, Case{unknown_kind, "kind: 99"},
        Case{unknown_objective, "objective: 7"}, Case{lookahead_too_large, "lookahead: 4097"},
        Case{fields_without_kind, "lookahead: 8"}}) {
    const std::string text = PolicyToText(c.policy);
    EXPECT_EQ(text.rfind("policy{", 0), 0u) << text;
    EXPECT_NE(text.find(c.names), std::string::npos) << text;
  }
}

TEST(PolicyTextTest, OnlyAspAndSspHaveNoRounds) {
  for (const char* text : {"bsp", "ebsp:R=4", "local:H=2"}) {
    absl::StatusOr<v1::Policy> p = ParsePolicyText(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_TRUE(HasRounds(*p)) << text;
  }
  for (const char* text : {"asp", "ssp:s=2"}) {
    absl::StatusOr<v1::Policy> p = ParsePolicyText(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_FALSE(HasRounds(*p)) << text;
  }
}

}  // namespace
}  // namespace ebsp::testing
