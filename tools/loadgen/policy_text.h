// The textual policy form of the coordinator's flags ("bsp", "asp",
// "ssp:s=3", "local:H=4", "ebsp:R=15,objective=total_wait,predictor=median")
// converted to and from the wire message, for the tools that only speak the
// public API (they do not link the core's ParsePolicy). Range checks are the
// coordinator's job; this only rejects text it cannot read.
#ifndef EBSP_TOOLS_LOADGEN_POLICY_TEXT_H_
#define EBSP_TOOLS_LOADGEN_POLICY_TEXT_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "elasticbsp/v1/coordinator.pb.h"

namespace ebsp::loadgen {

// "" or "default" gives POLICY_KIND_UNSPECIFIED (the coordinator's default).
// INVALID_ARGUMENT naming the offending part otherwise.
absl::StatusOr<elasticbsp::v1::Policy> ParsePolicyText(absl::string_view text);

// The inverse, e.g. "ebsp:R=15,objective=spread,predictor=ewma".
std::string PolicyToText(const elasticbsp::v1::Policy& policy);

}  // namespace ebsp::loadgen

#endif  // EBSP_TOOLS_LOADGEN_POLICY_TEXT_H_
