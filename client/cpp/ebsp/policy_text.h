// The textual policy form shared by the coordinator's flags, the simulator
// and the demo ("bsp", "ebsp:R=8,objective=total_wait", ...), turned into the
// wire Policy that ClientOptions::policy_if_created carries.
#ifndef EBSP_CLIENT_CPP_EBSP_POLICY_TEXT_H_
#define EBSP_CLIENT_CPP_EBSP_POLICY_TEXT_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "elasticbsp/v1/coordinator.pb.h"

namespace ebsp::client {

// INVALID_ARGUMENT (from ebsp::core::ParsePolicy) naming what was wrong.
absl::StatusOr<elasticbsp::v1::Policy> ParsePolicyText(std::string_view text);

// True for policies with rounds and barriers (BSP, ElasticBSP, LOCAL_STEPS).
bool HasRounds(const elasticbsp::v1::Policy& policy);

}  // namespace ebsp::client

#endif  // EBSP_CLIENT_CPP_EBSP_POLICY_TEXT_H_
