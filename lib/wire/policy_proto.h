// Policies between the v1 wire message and the core's PolicyConfig: the one
// translation, shared by the coordinator (which resolves what clients send)
// and the C++ client and tools (which print and send policies). It depends on
// the proto and the core only, never on the server.
//
// Policies coming from the wire are resolved here: unset fields take the
// given defaults; out-of-range or unknown enum values are INVALID_ARGUMENT
// naming the field.
#ifndef EBSP_LIB_WIRE_POLICY_PROTO_H_
#define EBSP_LIB_WIRE_POLICY_PROTO_H_

#include "absl/status/statusor.h"
#include "elasticbsp/v1/coordinator.pb.h"
#include "lib/core/policy/policy_config.h"

namespace ebsp::wire {

namespace v1 = ::elasticbsp::v1;

// INVALID_ARGUMENT for POLICY_KIND_UNSPECIFIED and values the core lacks.
absl::StatusOr<core::PolicyKind> PolicyKindFromProto(v1::PolicyKind kind);

// POLICY_KIND_UNSPECIFIED (with every other field unset) yields
// `default_policy`. A zero lookahead takes the default policy's lookahead (or
// core::kDefaultLookahead), a zero local_steps means 1, a zero
// staleness_range means core::kDefaultStalenessRange. The target binding
// (not on the wire) is the default policy's. The result is validated.
absl::StatusOr<core::PolicyConfig> PolicyFromProto(const v1::Policy& policy,
                                                   const core::PolicyConfig& default_policy);
v1::Policy PolicyToProto(const core::PolicyConfig& policy);

}  // namespace ebsp::wire

#endif  // EBSP_LIB_WIRE_POLICY_PROTO_H_
