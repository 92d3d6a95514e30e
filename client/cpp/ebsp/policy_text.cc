#include "client/cpp/ebsp/policy_text.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/core/policy/policy_config.h"

namespace ebsp::client {
namespace {

namespace v1 = ::elasticbsp::v1;
namespace core = ::ebsp::core;

// The core's enums and the wire's, side by side; both directions read the
// same table so that they cannot disagree.
constexpr std::pair<core::PolicyKind, v1::PolicyKind> kKinds[] = {
    {core::PolicyKind::kBsp, v1::POLICY_KIND_BSP},
    {core::PolicyKind::kAsp, v1::POLICY_KIND_ASP},
    {core::PolicyKind::kSsp, v1::POLICY_KIND_SSP},
    {core::PolicyKind::kElasticBsp, v1::POLICY_KIND_ELASTIC_BSP},
    {core::PolicyKind::kLocalSteps, v1::POLICY_KIND_LOCAL_STEPS},
};
constexpr std::pair<core::PlanObjective, v1::Objective> kObjectives[] = {
    {core::PlanObjective::kSpread, v1::OBJECTIVE_SPREAD},
    {core::PlanObjective::kTotalWait, v1::OBJECTIVE_TOTAL_WAIT},
};
constexpr std::pair<core::PredictorKind, v1::PredictorKind> kPredictors[] = {
    {core::PredictorKind::kLatestInterval, v1::PREDICTOR_KIND_LATEST_INTERVAL},
    {core::PredictorKind::kEwma, v1::PREDICTOR_KIND_EWMA},
    {core::PredictorKind::kWindowedMedian, v1::PREDICTOR_KIND_WINDOWED_MEDIAN},
};

// The wire value of a core value; `unspecified` only for a core value the
// table lacks, which a validated PolicyConfig never holds.
template <typename Core, typename Wire, size_t N>
Wire ToWire(const std::pair<Core, Wire> (&table)[N], Core value, Wire unspecified) {
  for (const auto& [core_value, wire_value] : table) {
    if (core_value == value) return wire_value;
  }
  return unspecified;
}

// The core value of a wire value; nullopt for one the table lacks (unset, or
// from a newer peer).
template <typename Core, typename Wire, size_t N>
std::optional<Core> FromWire(const std::pair<Core, Wire> (&table)[N], Wire value) {
  for (const auto& [core_value, wire_value] : table) {
    if (wire_value == value) return core_value;
  }
  return std::nullopt;
}

std::optional<int> ToInt(uint32_t value) {
  if (value > static_cast<uint32_t>(std::numeric_limits<int>::max())) return std::nullopt;
  return static_cast<int>(value);
}

// The config `policy` describes, unset fields read as the proto defines them;
// nullopt when the text form cannot express it (see PolicyToText).
std::optional<core::PolicyConfig> ConfigOf(const v1::Policy& policy) {
  core::PolicyConfig config;
  std::optional<core::PolicyKind> kind = FromWire(kKinds, policy.kind());
  if (!kind.has_value()) return std::nullopt;
  config.kind = *kind;

  std::optional<core::PlanObjective> objective =
      policy.objective() == v1::OBJECTIVE_UNSPECIFIED
          ? core::PlanObjective::kSpread
          : FromWire(kObjectives, policy.objective());
  std::optional<core::PredictorKind> predictor =
      policy.predictor() == v1::PREDICTOR_KIND_UNSPECIFIED
          ? core::PredictorKind::kEwma
          : FromWire(kPredictors, policy.predictor());
  std::optional<int> lookahead = ToInt(policy.lookahead());
  std::optional<int> staleness = ToInt(policy.staleness());
  std::optional<int> local_steps = ToInt(policy.local_steps());
  if (!objective || !predictor || !lookahead || !staleness || !local_steps) {
    return std::nullopt;
  }
  config.objective = *objective;
  config.predictor = *predictor;
  config.staleness = *staleness;
  config.local_steps = *local_steps == 0 ? 1 : *local_steps;
  if (*lookahead != 0) {
    config.lookahead = *lookahead;
  } else if (config.kind == core::PolicyKind::kElasticBsp) {
    return std::nullopt;
  }  // Other kinds ignore the lookahead: the config keeps its default.
  if (!config.Validate().ok()) return std::nullopt;
  return config;
}

v1::Policy ToWirePolicy(const core::PolicyConfig& config) {
  v1::Policy policy;
  policy.set_kind(ToWire(kKinds, config.kind, v1::POLICY_KIND_UNSPECIFIED));
  policy.set_lookahead(static_cast<uint32_t>(config.lookahead));
  policy.set_staleness(static_cast<uint32_t>(config.staleness));
  policy.set_local_steps(static_cast<uint32_t>(config.local_steps));
  policy.set_objective(ToWire(kObjectives, config.objective, v1::OBJECTIVE_UNSPECIFIED));
  policy.set_predictor(
      ToWire(kPredictors, config.predictor, v1::PREDICTOR_KIND_UNSPECIFIED));
  return policy;
}

}  // namespace

absl::StatusOr<v1::Policy> ParsePolicyText(std::string_view text) {
  absl::StatusOr<core::PolicyConfig> config = core::ParsePolicy(text);
  if (!config.ok()) return config.status();
  return ToWirePolicy(*config);
}

std::string PolicyToText(const v1::Policy& policy) {
  if (policy.ByteSizeLong() == 0) return "default";
  std::optional<core::PolicyConfig> config = ConfigOf(policy);
  if (!config.has_value()) return absl::StrCat("policy{", policy.ShortDebugString(), "}");
  return config->ToString();
}

bool HasRounds(const v1::Policy& policy) {
  std::optional<core::PolicyKind> kind = FromWire(kKinds, policy.kind());
  if (!kind.has_value()) return true;  // Unset or unknown: as for a round policy.
  core::PolicyConfig config;
  config.kind = *kind;
  return config.HasRounds();  // The core's one definition.
}

}  // namespace ebsp::client
