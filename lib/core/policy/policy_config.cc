#include "lib/core/policy/policy_config.h"

#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "lib/core/string_view_compat.h"

namespace ebsp::core {
namespace {

constexpr PolicyKind kAllKinds[] = {PolicyKind::kBsp,        PolicyKind::kAsp,
                                    PolicyKind::kSsp,        PolicyKind::kElasticBsp,
                                    PolicyKind::kLocalSteps, PolicyKind::kDssp};

absl::StatusOr<PolicyKind> ParseKind(absl::string_view name) {
  for (PolicyKind kind : kAllKinds) {
    if (name == ToAbsl(PolicyKindName(kind))) return kind;
  }
  // Spellings people type from the paper and the proto enum.
  if (name == "elasticbsp" || name == "elastic_bsp") return PolicyKind::kElasticBsp;
  if (name == "local_steps") return PolicyKind::kLocalSteps;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown policy \"", name, "\"; expected bsp, asp, ssp, dssp, ebsp or local"));
}

absl::StatusOr<PlanObjective> ParseObjective(absl::string_view name) {
  for (PlanObjective objective :
       {PlanObjective::kSpread, PlanObjective::kTotalWait, PlanObjective::kIdleRate}) {
    if (name == ToAbsl(ObjectiveName(objective))) return objective;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown objective \"", name, "\"; expected spread, total_wait or idle_rate"));
}

absl::StatusOr<TargetBinding> ParseBinding(absl::string_view name) {
  for (TargetBinding binding : {TargetBinding::kLate, TargetBinding::kPlan}) {
    if (name == ToAbsl(BindingName(binding))) return binding;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown binding \"", name, "\"; expected late or plan"));
}

absl::StatusOr<int> ParseInt(absl::string_view key, absl::string_view value) {
  int parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy parameter ", key, "=\"", value, "\" is not an integer"));
  }
  return parsed;
}

// Applies one key=value of a policy whose kind is already known.
absl::Status ApplyParameter(absl::string_view key, absl::string_view value, PolicyConfig& config) {
  const absl::string_view kind = ToAbsl(PolicyKindName(config.kind));
  auto not_for_kind = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("policy parameter \"", key, "\" does not apply to ", kind));
  };
  if (key == "R" || key == "lookahead") {
    if (config.kind != PolicyKind::kElasticBsp) return not_for_kind();
    absl::StatusOr<int> v = ParseInt(key, value);
    if (!v.ok()) return v.status();
    config.lookahead = *v;
  } else if (key == "objective") {
    if (config.kind != PolicyKind::kElasticBsp) return not_for_kind();
    absl::StatusOr<PlanObjective> v = ParseObjective(value);
    if (!v.ok()) return v.status();
    config.objective = *v;
  } else if (key == "binding") {
    if (config.kind != PolicyKind::kElasticBsp) return not_for_kind();
    absl::StatusOr<TargetBinding> v = ParseBinding(value);
    if (!v.ok()) return v.status();
    config.binding = *v;
  } else if (key == "predictor") {
    if (config.kind != PolicyKind::kElasticBsp && config.kind != PolicyKind::kDssp) {
      return not_for_kind();
    }
    absl::StatusOr<PredictorKind> v = ParsePredictorKind(ToStd(value));
    if (!v.ok()) return v.status();
    config.predictor = *v;
  } else if (key == "s" || key == "staleness") {
    if (config.kind != PolicyKind::kSsp && config.kind != PolicyKind::kDssp) return not_for_kind();
    absl::StatusOr<int> v = ParseInt(key, value);
    if (!v.ok()) return v.status();
    config.staleness = *v;
  } else if (key == "r" || key == "staleness_range") {
    if (config.kind != PolicyKind::kDssp) return not_for_kind();
    absl::StatusOr<int> v = ParseInt(key, value);
    if (!v.ok()) return v.status();
    config.staleness_range = *v;
  } else if (key == "H" || key == "local_steps") {
    if (config.kind != PolicyKind::kLocalSteps) return not_for_kind();
    absl::StatusOr<int> v = ParseInt(key, value);
    if (!v.ok()) return v.status();
    config.local_steps = *v;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown policy parameter \"", key, "\" for ", kind));
  }
  return absl::OkStatus();
}

// "R" and "lookahead" name the same parameter; duplicates are detected on the
// canonical name.
absl::string_view CanonicalKey(absl::string_view key) {
  if (key == "lookahead") return "R";
  if (key == "staleness") return "s";
  if (key == "local_steps") return "H";
  if (key == "staleness_range") return "r";
  return key;
}

}  // namespace

bool PolicyConfig::HasRounds() const {
  return kind == PolicyKind::kBsp || kind == PolicyKind::kElasticBsp ||
         kind == PolicyKind::kLocalSteps;
}

bool PolicyConfig::HasClocks() const {
  return kind == PolicyKind::kSsp || kind == PolicyKind::kDssp;
}

absl::Status PolicyConfig::Validate() const {
  bool known_kind = false;
  for (PolicyKind k : kAllKinds) known_kind = known_kind || k == kind;
  if (!known_kind) {
    return absl::InvalidArgumentError(absl::StrCat("unknown policy kind ", static_cast<int>(kind)));
  }
  if (lookahead < 1 || lookahead > kMaxLookahead) {
    return absl::InvalidArgumentError(
        absl::StrCat("lookahead R=", lookahead, " is out of range [1, ", kMaxLookahead, "]"));
  }
  if (staleness < 0) {
    return absl::InvalidArgumentError(absl::StrCat("staleness s=", staleness, " is negative"));
  }
  if (staleness_range < 1 || staleness_range > kMaxStalenessRange) {
    return absl::InvalidArgumentError(
        absl::StrCat("staleness range r=", staleness_range, " is out of range [1, ",
                     kMaxStalenessRange, "] (DSSP with r=0 is SSP: use ssp:s=", staleness, ")"));
  }
  if (kind == PolicyKind::kDssp && staleness > std::numeric_limits<int>::max() - staleness_range) {
    return absl::InvalidArgumentError(absl::StrCat(
        "staleness s=", staleness, " plus range r=", staleness_range, " overflows an int"));
  }
  if (local_steps < 1) {
    return absl::InvalidArgumentError(absl::StrCat("local_steps H=", local_steps, " is below 1"));
  }
  if (objective != PlanObjective::kSpread && objective != PlanObjective::kTotalWait &&
      objective != PlanObjective::kIdleRate) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown objective ", static_cast<int>(objective)));
  }
  if (binding != TargetBinding::kLate && binding != TargetBinding::kPlan) {
    return absl::InvalidArgumentError(absl::StrCat("unknown binding ", static_cast<int>(binding)));
  }
  if (predictor != PredictorKind::kLatestInterval && predictor != PredictorKind::kEwma &&
      predictor != PredictorKind::kWindowedMedian) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown predictor ", static_cast<int>(predictor)));
  }
  return absl::OkStatus();
}

std::string PolicyConfig::ToString() const {
  switch (kind) {
    case PolicyKind::kBsp:
    case PolicyKind::kAsp:
      return std::string(PolicyKindName(kind));
    case PolicyKind::kSsp:
      return absl::StrCat("ssp:s=", staleness);
    case PolicyKind::kLocalSteps:
      return absl::StrCat("local:H=", local_steps);
    case PolicyKind::kElasticBsp:
      return absl::StrCat("ebsp:R=", lookahead, ",objective=", ToAbsl(ObjectiveName(objective)),
                          ",predictor=", ToAbsl(PredictorKindName(predictor)),
                          binding == TargetBinding::kLate
                              ? ""
                              : absl::StrCat(",binding=", ToAbsl(BindingName(binding))));
    case PolicyKind::kDssp:
      return absl::StrCat("dssp:s=", staleness, ",r=", staleness_range,
                          ",predictor=", ToAbsl(PredictorKindName(predictor)));
  }
  return absl::StrCat("unknown(", static_cast<int>(kind), ")");
}

absl::StatusOr<PolicyConfig> ParsePolicy(std::string_view text) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(ToAbsl(text));
  if (trimmed.empty()) return absl::InvalidArgumentError("empty policy text");
  const size_t colon = trimmed.find(':');
  PolicyConfig config;
  absl::StatusOr<PolicyKind> kind = ParseKind(absl::StripAsciiWhitespace(trimmed.substr(0, colon)));
  if (!kind.ok()) return kind.status();
  config.kind = *kind;
  if (colon != absl::string_view::npos) {
    const absl::string_view parameters = trimmed.substr(colon + 1);
    if (parameters.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy \"", trimmed, "\" has a ':' but no parameters"));
    }
    absl::flat_hash_set<absl::string_view> seen;
    for (absl::string_view item : absl::StrSplit(parameters, ',')) {
      item = absl::StripAsciiWhitespace(item);
      const size_t eq = item.find('=');
      if (eq == absl::string_view::npos || eq == 0 || eq + 1 == item.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("policy parameter \"", item, "\" in \"", trimmed, "\" is not key=value"));
      }
      const absl::string_view key = absl::StripAsciiWhitespace(item.substr(0, eq));
      const absl::string_view value = absl::StripAsciiWhitespace(item.substr(eq + 1));
      if (!seen.insert(CanonicalKey(key)).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("policy parameter \"", key, "\" given twice in \"", trimmed, "\""));
      }
      if (absl::Status s = ApplyParameter(key, value, config); !s.ok()) return s;
    }
  }
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  return config;
}

std::string_view PolicyKindName(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kBsp:
      return "bsp";
    case PolicyKind::kAsp:
      return "asp";
    case PolicyKind::kSsp:
      return "ssp";
    case PolicyKind::kElasticBsp:
      return "ebsp";
    case PolicyKind::kLocalSteps:
      return "local";
    case PolicyKind::kDssp:
      return "dssp";
  }
  return "unknown";
}

std::string_view ObjectiveName(PlanObjective objective) {
  switch (objective) {
    case PlanObjective::kSpread:
      return "spread";
    case PlanObjective::kTotalWait:
      return "total_wait";
    case PlanObjective::kIdleRate:
      return "idle_rate";
  }
  return "unknown";
}

std::string_view BindingName(TargetBinding binding) {
  switch (binding) {
    case TargetBinding::kLate:
      return "late";
    case TargetBinding::kPlan:
      return "plan";
  }
  return "unknown";
}

}  // namespace ebsp::core
