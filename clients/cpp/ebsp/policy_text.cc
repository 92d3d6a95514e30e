#include "clients/cpp/ebsp/policy_text.h"

#include "absl/strings/str_cat.h"
#include "lib/core/policy/policy_config.h"
#include "lib/wire/policy_proto.h"

namespace ebsp::client {

namespace v1 = ::elasticbsp::v1;
namespace core = ::ebsp::core;

absl::StatusOr<v1::Policy> ParsePolicyText(std::string_view text) {
  absl::StatusOr<core::PolicyConfig> config = core::ParsePolicy(text);
  if (!config.ok()) return config.status();
  if (config->binding != core::PolicyConfig().binding) {
    // The wire has no field for it: the coordinator's --default_policy sets it.
    return absl::InvalidArgumentError(absl::StrCat(
        "policy \"", std::string(text),
        "\": binding=", std::string(core::BindingName(config->binding)),
        " is not sent to a coordinator; it is set by the coordinator's --default_policy"));
  }
  return wire::PolicyToProto(*config);
}

std::string PolicyToText(const v1::Policy& policy) {
  if (policy.ByteSizeLong() == 0) return "default";
  // An unset ElasticBSP lookahead is whatever each coordinator's
  // --default_policy says: no text names it, so it is shown as fields.
  const bool coordinator_resolves_lookahead =
      policy.kind() == v1::POLICY_KIND_ELASTIC_BSP && policy.lookahead() == 0;
  if (!coordinator_resolves_lookahead) {
    absl::StatusOr<core::PolicyConfig> config = wire::PolicyFromProto(policy, core::PolicyConfig{});
    if (config.ok()) return config->ToString();
  }
  return absl::StrCat("policy{", policy.ShortDebugString(), "}");
}

bool HasRounds(const v1::Policy& policy) {
  absl::StatusOr<core::PolicyKind> kind = wire::PolicyKindFromProto(policy.kind());
  if (!kind.ok()) return true;  // Unset or unknown: as for a round policy.
  core::PolicyConfig config;
  config.kind = *kind;
  return config.HasRounds();  // The core's one definition.
}

}  // namespace ebsp::client
