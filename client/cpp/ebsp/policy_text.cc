#include "client/cpp/ebsp/policy_text.h"

#include "services/core/policy/policy_config.h"

namespace ebsp::client {
namespace {

namespace v1 = ::elasticbsp::v1;
using ::ebsp::core::PlanObjective;
using ::ebsp::core::PolicyKind;
using ::ebsp::core::PredictorKind;

v1::PolicyKind ToProto(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kBsp:
      return v1::POLICY_KIND_BSP;
    case PolicyKind::kAsp:
      return v1::POLICY_KIND_ASP;
    case PolicyKind::kSsp:
      return v1::POLICY_KIND_SSP;
    case PolicyKind::kElasticBsp:
      return v1::POLICY_KIND_ELASTIC_BSP;
    case PolicyKind::kLocalSteps:
      return v1::POLICY_KIND_LOCAL_STEPS;
  }
  return v1::POLICY_KIND_UNSPECIFIED;
}

v1::Objective ToProto(PlanObjective objective) {
  switch (objective) {
    case PlanObjective::kSpread:
      return v1::OBJECTIVE_SPREAD;
    case PlanObjective::kTotalWait:
      return v1::OBJECTIVE_TOTAL_WAIT;
  }
  return v1::OBJECTIVE_UNSPECIFIED;
}

v1::PredictorKind ToProto(PredictorKind predictor) {
  switch (predictor) {
    case PredictorKind::kLatestInterval:
      return v1::PREDICTOR_KIND_LATEST_INTERVAL;
    case PredictorKind::kEwma:
      return v1::PREDICTOR_KIND_EWMA;
    case PredictorKind::kWindowedMedian:
      return v1::PREDICTOR_KIND_WINDOWED_MEDIAN;
  }
  return v1::PREDICTOR_KIND_UNSPECIFIED;
}

v1::Policy ToProtoPolicy(const ebsp::core::PolicyConfig& config) {
  v1::Policy policy;
  policy.set_kind(ToProto(config.kind));
  policy.set_lookahead(static_cast<uint32_t>(config.lookahead));
  policy.set_staleness(static_cast<uint32_t>(config.staleness));
  policy.set_local_steps(static_cast<uint32_t>(config.local_steps));
  policy.set_objective(ToProto(config.objective));
  policy.set_predictor(ToProto(config.predictor));
  return policy;
}

}  // namespace

absl::StatusOr<v1::Policy> ParsePolicyText(std::string_view text) {
  absl::StatusOr<ebsp::core::PolicyConfig> config = ebsp::core::ParsePolicy(text);
  if (!config.ok()) return config.status();
  return ToProtoPolicy(*config);
}

bool HasRounds(const v1::Policy& policy) {
  switch (policy.kind()) {
    case v1::POLICY_KIND_ASP:
    case v1::POLICY_KIND_SSP:
      return false;
    default:
      return true;
  }
}

}  // namespace ebsp::client
