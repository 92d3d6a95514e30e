// Conversions between the core's value types and the v1 wire messages.
//
// Policies coming from the wire are resolved here: unset fields take the
// coordinator's defaults, out-of-range or unknown enum values are rejected
// with INVALID_ARGUMENT before any state is touched.
#ifndef EBSP_SERVICES_SERVER_PROTO_CONVERT_H_
#define EBSP_SERVICES_SERVER_PROTO_CONVERT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "elasticbsp/v1/coordinator.pb.h"
#include "services/core/job/job_state.h"
#include "services/core/policy/policy_config.h"

namespace ebsp::server {

namespace v1 = ::elasticbsp::v1;

// POLICY_KIND_UNSPECIFIED yields `default_policy`. A zero lookahead takes the
// default policy's lookahead (or core::kDefaultLookahead), a zero local_steps
// means 1. The result is validated.
absl::StatusOr<core::PolicyConfig> PolicyFromProto(
    const v1::Policy& policy, const core::PolicyConfig& default_policy);
v1::Policy PolicyToProto(const core::PolicyConfig& policy);

v1::WorkerState WorkerStateToProto(core::WorkerPhase phase);
v1::Directive DirectiveToProto(core::SyncAction action);

// Fills `job` from a snapshot. The auth token is never returned.
void JobToProto(const core::JobSnapshot& snapshot, absl::Time now,
                v1::Job* job);

double ToSeconds(absl::Duration d);

}  // namespace ebsp::server

#endif  // EBSP_SERVICES_SERVER_PROTO_CONVERT_H_
