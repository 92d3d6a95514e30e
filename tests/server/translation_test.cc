// The translation layer on its own: request validation, policy conversion
// and the status mapping, without a server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "service/proto_convert.h"
#include "service/status_mapping.h"
#include "service/validation.h"

namespace ebsp::server {
namespace {

using ::testing::HasSubstr;

TEST(ValidationTest, JobNamesAllowLettersDigitsDotUnderscoreDash) {
  EXPECT_TRUE(ValidateJobName("resnet-50_v2.run").ok());
  EXPECT_TRUE(ValidateJobName(std::string(128, 'a')).ok());
  EXPECT_EQ(ValidateJobName("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateJobName(std::string(129, 'a')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ValidateJobName("a:b").message(), HasSubstr("':'"));
  EXPECT_THAT(ValidateJobName("tab\there").message(), HasSubstr("\\t"));
}

TEST(ValidationTest, WorkerNamesAlsoAllowColons) {
  EXPECT_TRUE(ValidateWorkerName("host-3:7").ok());
  EXPECT_THAT(ValidateWorkerName("a b").message(), HasSubstr("' '"));
}

TEST(ValidationTest, SecondsMustBeFiniteAndNonNegative) {
  EXPECT_EQ(*ValidateSeconds("x", 1.5), absl::Milliseconds(1500));
  EXPECT_EQ(*ValidateSeconds("x", 0), absl::ZeroDuration());
  EXPECT_THAT(ValidateSeconds("compute_seconds", std::nan("")).status().message(),
              HasSubstr("compute_seconds is NaN"));
  EXPECT_THAT(ValidateSeconds("x", -2).status().message(), HasSubstr("negative (-2)"));
  EXPECT_THAT(ValidateSeconds("x", std::numeric_limits<double>::infinity()).status().message(),
              HasSubstr("infinite"));
}

TEST(ValidationTest, WorkerIdZeroIsRejected) {
  EXPECT_EQ(ValidateWorkerId(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateWorkerId(7).ok());
}

TEST(StatusMappingTest, KeepsCodeAndMessage) {
  const grpc::Status s = ToGrpcStatus(absl::FailedPreconditionError("round 3, expected 2"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "round 3, expected 2");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::PermissionDeniedError("x")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

core::PolicyConfig Default() {
  core::PolicyConfig config;
  config.kind = core::PolicyKind::kElasticBsp;
  config.lookahead = 20;
  return config;
}

TEST(ProtoConvertTest, AnEmptyPolicyIsTheDefault) {
  absl::StatusOr<core::PolicyConfig> config = PolicyFromProto(v1::Policy(), Default());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->kind, core::PolicyKind::kElasticBsp);
  EXPECT_EQ(config->lookahead, 20);
}

TEST(ProtoConvertTest, UnsetFieldsTakeDefaults) {
  v1::Policy ebsp;
  ebsp.set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  absl::StatusOr<core::PolicyConfig> config = PolicyFromProto(ebsp, Default());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->lookahead, 20);
  EXPECT_EQ(config->objective, core::PlanObjective::kIdleRate);
  EXPECT_EQ(config->predictor, core::PredictorKind::kEwma);
  v1::Policy local;
  local.set_kind(v1::POLICY_KIND_LOCAL_STEPS);
  config = PolicyFromProto(local, Default());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->local_steps, 1);
  v1::Policy dssp;
  dssp.set_kind(v1::POLICY_KIND_DSSP);
  dssp.set_staleness(3);
  config = PolicyFromProto(dssp, Default());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ToString(), "dssp:s=3,r=12,predictor=ewma");
  dssp.set_staleness_range(5000);
  EXPECT_THAT(PolicyFromProto(dssp, Default()).status().message(), HasSubstr("r=5000"));
}

TEST(ProtoConvertTest, TargetBindingIsTheCoordinatorsDefault) {
  v1::Policy ebsp;
  ebsp.set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  ebsp.set_lookahead(8);
  absl::StatusOr<core::PolicyConfig> config = PolicyFromProto(ebsp, Default());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->binding, core::TargetBinding::kLate);
  config = PolicyFromProto(ebsp, *core::ParsePolicy("ebsp:R=15,binding=plan"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ToString(), "ebsp:R=8,objective=idle_rate,predictor=ewma,binding=plan");
}

TEST(ProtoConvertTest, RejectsUnknownEnumsAndOutOfRangeValues) {
  v1::Policy policy;
  policy.set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  policy.set_lookahead(4097);
  EXPECT_EQ(PolicyFromProto(policy, Default()).status().code(), absl::StatusCode::kInvalidArgument);
  policy.set_lookahead(4);
  policy.set_objective(static_cast<v1::Objective>(9));
  EXPECT_THAT(PolicyFromProto(policy, Default()).status().message(),
              HasSubstr("policy.objective 9"));
  policy.set_objective(v1::OBJECTIVE_TOTAL_WAIT);
  policy.set_predictor(static_cast<v1::PredictorKind>(8));
  EXPECT_THAT(PolicyFromProto(policy, Default()).status().message(),
              HasSubstr("policy.predictor 8"));
  v1::Policy stray;
  stray.set_lookahead(3);  // Kind unspecified but a field set.
  EXPECT_THAT(PolicyFromProto(stray, Default()).status().message(),
              HasSubstr("kind is unspecified"));
}

TEST(ProtoConvertTest, PoliciesRoundTrip) {
  for (const char* text :
       {"bsp", "asp", "ssp:s=5", "local:H=4", "ebsp:R=8,objective=total_wait,predictor=median",
        "ebsp:R=8,objective=idle_rate,predictor=latest", "dssp:s=2,r=7,predictor=latest"}) {
    absl::StatusOr<core::PolicyConfig> parsed = core::ParsePolicy(text);
    ASSERT_TRUE(parsed.ok()) << text;
    absl::StatusOr<core::PolicyConfig> back = PolicyFromProto(PolicyToProto(*parsed), Default());
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(back->ToString(), parsed->ToString()) << text;
  }
}

}  // namespace
}  // namespace ebsp::server
