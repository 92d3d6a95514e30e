#include "tools/loadgen/policy_text.h"

#include "gtest/gtest.h"

namespace ebsp::loadgen {
namespace {

namespace v1 = ::elasticbsp::v1;

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
  EXPECT_EQ(p->local_steps(), 8u);

  p = ParsePolicyText("bsp");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind(), v1::POLICY_KIND_BSP);
  p = ParsePolicyText("asp");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind(), v1::POLICY_KIND_ASP);
}

TEST(PolicyTextTest, EmptyOrDefaultLeavesTheChoiceToTheCoordinator) {
  for (const char* text : {"", "default", "  "}) {
    absl::StatusOr<v1::Policy> p = ParsePolicyText(text);
    ASSERT_TRUE(p.ok()) << text;
    EXPECT_EQ(p->kind(), v1::POLICY_KIND_UNSPECIFIED) << text;
  }
}

TEST(PolicyTextTest, TextRoundTrips) {
  for (const char* text : {"bsp", "asp", "ssp:s=3", "local:H=4",
                           "ebsp:R=15,objective=spread,predictor=ewma",
                           "ebsp:R=150,objective=total_wait,predictor=latest"}) {
    absl::StatusOr<v1::Policy> p = ParsePolicyText(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_EQ(PolicyToText(*p), text);
  }
}

TEST(PolicyTextTest, RejectionsNameTheBadPart) {
  struct Case {
    const char* text;
    const char* names;
  };
  for (const Case& c : {Case{"gossip", "gossip"}, Case{"ebsp:R=x", "R=x"},
                        Case{"ebsp:R=-1", "R=-1"}, Case{"ssp:R=3", "\"R\""},
                        Case{"ebsp:objective=fast", "fast"}, Case{"ebsp:R", "\"R\""},
                        Case{"ebsp:predictor=oracle", "oracle"}}) {
    absl::StatusOr<v1::Policy> p = ParsePolicyText(c.text);
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(p.status().message().find(c.names), absl::string_view::npos)
        << c.text << ": " << p.status();
  }
}

}  // namespace
}  // namespace ebsp::loadgen
