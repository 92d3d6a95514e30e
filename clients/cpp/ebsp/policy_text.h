// The textual policy form shared by the coordinator's flags, the simulator
// and the tools ("bsp", "ssp:s=3", "ebsp:R=8,objective=total_wait", ...),
// turned into the wire Policy that ClientOptions::policy_if_created carries,
// and back for display. ebsp::core::ParsePolicy is the one definition of the
// text form; these functions only translate between it and the wire message.
#ifndef EBSP_CLIENTS_CPP_EBSP_POLICY_TEXT_H_
#define EBSP_CLIENTS_CPP_EBSP_POLICY_TEXT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "elasticbsp/v1/coordinator.pb.h"

namespace ebsp::client {

// INVALID_ARGUMENT (from ebsp::core::ParsePolicy) naming what was wrong. Every
// field of the result is set, parameters the text leaves out at the core's
// defaults.
absl::StatusOr<elasticbsp::v1::Policy> ParsePolicyText(std::string_view text);

// The canonical text of `policy` (ebsp::core::PolicyConfig::ToString, e.g.
// "ebsp:R=15,objective=idle_rate,predictor=ewma"), which ParsePolicyText reads
// back to the same message when every field is set. Unset fields mean what
// the proto says they mean (objective idle_rate, predictor ewma, local_steps 1).
// An empty policy (kind unspecified: the coordinator's default) is "default".
// A message the text form cannot express (an unknown enum value, a value out
// of range, an ElasticBSP lookahead of 0, which each coordinator resolves
// from its own --default_policy) is shown as its fields, e.g.
// "policy{kind: POLICY_KIND_ELASTIC_BSP}".
std::string PolicyToText(const elasticbsp::v1::Policy& policy);

// True for policies with rounds and barriers (BSP, ElasticBSP, LOCAL_STEPS;
// ebsp::core::PolicyConfig::HasRounds), and for an unset or unknown kind.
bool HasRounds(const elasticbsp::v1::Policy& policy);

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_POLICY_TEXT_H_
