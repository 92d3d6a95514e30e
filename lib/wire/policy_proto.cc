#include "lib/wire/policy_proto.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ebsp::wire {

absl::StatusOr<core::PolicyKind> PolicyKindFromProto(v1::PolicyKind kind) {
  switch (kind) {
    case v1::POLICY_KIND_BSP:
      return core::PolicyKind::kBsp;
    case v1::POLICY_KIND_ASP:
      return core::PolicyKind::kAsp;
    case v1::POLICY_KIND_SSP:
      return core::PolicyKind::kSsp;
    case v1::POLICY_KIND_ELASTIC_BSP:
      return core::PolicyKind::kElasticBsp;
    case v1::POLICY_KIND_LOCAL_STEPS:
      return core::PolicyKind::kLocalSteps;
    case v1::POLICY_KIND_DSSP:
      return core::PolicyKind::kDssp;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("policy.kind ", static_cast<int>(kind), " is unknown"));
  }
}

namespace {

v1::PolicyKind KindToProto(core::PolicyKind kind) {
  switch (kind) {
    case core::PolicyKind::kBsp:
      return v1::POLICY_KIND_BSP;
    case core::PolicyKind::kAsp:
      return v1::POLICY_KIND_ASP;
    case core::PolicyKind::kSsp:
      return v1::POLICY_KIND_SSP;
    case core::PolicyKind::kElasticBsp:
      return v1::POLICY_KIND_ELASTIC_BSP;
    case core::PolicyKind::kLocalSteps:
      return v1::POLICY_KIND_LOCAL_STEPS;
    case core::PolicyKind::kDssp:
      return v1::POLICY_KIND_DSSP;
  }
  return v1::POLICY_KIND_UNSPECIFIED;
}

absl::StatusOr<core::PlanObjective> ObjectiveFromProto(v1::Objective o) {
  switch (o) {
    case v1::OBJECTIVE_SPREAD:
      return core::PlanObjective::kSpread;
    case v1::OBJECTIVE_TOTAL_WAIT:
      return core::PlanObjective::kTotalWait;
    case v1::OBJECTIVE_UNSPECIFIED:  // The default (docs/planning.md says why).
    case v1::OBJECTIVE_IDLE_RATE:
      return core::PlanObjective::kIdleRate;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("policy.objective ", static_cast<int>(o), " is unknown"));
  }
}

absl::StatusOr<core::PredictorKind> PredictorFromProto(v1::PredictorKind p) {
  switch (p) {
    case v1::PREDICTOR_KIND_UNSPECIFIED:
    case v1::PREDICTOR_KIND_EWMA:
      return core::PredictorKind::kEwma;
    case v1::PREDICTOR_KIND_LATEST_INTERVAL:
      return core::PredictorKind::kLatestInterval;
    case v1::PREDICTOR_KIND_WINDOWED_MEDIAN:
      return core::PredictorKind::kWindowedMedian;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("policy.predictor ", static_cast<int>(p), " is unknown"));
  }
}

// uint32 wire values above INT_MAX would wrap in the core's int fields.
absl::StatusOr<int> ToInt(const char* field, uint32_t value) {
  if (value > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy.", field, " ", value, " is out of range"));
  }
  return static_cast<int>(value);
}

}  // namespace

absl::StatusOr<core::PolicyConfig> PolicyFromProto(const v1::Policy& policy,
                                                   const core::PolicyConfig& default_policy) {
  if (policy.kind() == v1::POLICY_KIND_UNSPECIFIED) {
    if (policy.lookahead() != 0 || policy.staleness() != 0 || policy.local_steps() != 0 ||
        policy.staleness_range() != 0 || policy.objective() != v1::OBJECTIVE_UNSPECIFIED ||
        policy.predictor() != v1::PREDICTOR_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          "policy.kind is unspecified but other policy fields are set; name "
          "the kind, or leave the whole policy empty for the coordinator's "
          "default");
    }
    return default_policy;
  }
  core::PolicyConfig config;
  absl::StatusOr<core::PolicyKind> kind = PolicyKindFromProto(policy.kind());
  if (!kind.ok()) return kind.status();
  config.kind = *kind;

  absl::StatusOr<int> lookahead = ToInt("lookahead", policy.lookahead());
  if (!lookahead.ok()) return lookahead.status();
  if (*lookahead == 0) {
    *lookahead = default_policy.kind == core::PolicyKind::kElasticBsp ? default_policy.lookahead
                                                                      : core::kDefaultLookahead;
  }
  config.lookahead = *lookahead;
  // Not on the wire: how ElasticBSP binds targets is the coordinator's own
  // (--default_policy, e.g. "ebsp:R=15,binding=plan" for the old behaviour).
  config.binding = default_policy.binding;

  absl::StatusOr<int> staleness = ToInt("staleness", policy.staleness());
  if (!staleness.ok()) return staleness.status();
  config.staleness = *staleness;

  absl::StatusOr<int> staleness_range = ToInt("staleness_range", policy.staleness_range());
  if (!staleness_range.ok()) return staleness_range.status();
  config.staleness_range = *staleness_range == 0 ? core::kDefaultStalenessRange : *staleness_range;

  absl::StatusOr<int> local_steps = ToInt("local_steps", policy.local_steps());
  if (!local_steps.ok()) return local_steps.status();
  config.local_steps = *local_steps == 0 ? 1 : *local_steps;

  absl::StatusOr<core::PlanObjective> objective = ObjectiveFromProto(policy.objective());
  if (!objective.ok()) return objective.status();
  config.objective = *objective;

  absl::StatusOr<core::PredictorKind> predictor = PredictorFromProto(policy.predictor());
  if (!predictor.ok()) return predictor.status();
  config.predictor = *predictor;

  if (absl::Status valid = config.Validate(); !valid.ok()) return valid;
  return config;
}

v1::Policy PolicyToProto(const core::PolicyConfig& policy) {
  v1::Policy out;
  out.set_kind(KindToProto(policy.kind));
  out.set_lookahead(static_cast<uint32_t>(policy.lookahead));
  out.set_staleness(static_cast<uint32_t>(policy.staleness));
  out.set_local_steps(static_cast<uint32_t>(policy.local_steps));
  out.set_staleness_range(static_cast<uint32_t>(policy.staleness_range));
  switch (policy.objective) {
    case core::PlanObjective::kSpread:
      out.set_objective(v1::OBJECTIVE_SPREAD);
      break;
    case core::PlanObjective::kTotalWait:
      out.set_objective(v1::OBJECTIVE_TOTAL_WAIT);
      break;
    case core::PlanObjective::kIdleRate:
      out.set_objective(v1::OBJECTIVE_IDLE_RATE);
      break;
  }
  switch (policy.predictor) {
    case core::PredictorKind::kLatestInterval:
      out.set_predictor(v1::PREDICTOR_KIND_LATEST_INTERVAL);
      break;
    case core::PredictorKind::kEwma:
      out.set_predictor(v1::PREDICTOR_KIND_EWMA);
      break;
    case core::PredictorKind::kWindowedMedian:
      out.set_predictor(v1::PREDICTOR_KIND_WINDOWED_MEDIAN);
      break;
  }
  return out;
}

}  // namespace ebsp::wire
