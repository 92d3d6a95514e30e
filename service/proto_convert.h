// Conversions between the core's value types and the v1 wire messages that
// only the coordinator needs (job snapshots, directives). Policies coming from
// the wire are resolved by lib/wire before any state is touched.
#ifndef EBSP_SERVICE_PROTO_CONVERT_H_
#define EBSP_SERVICE_PROTO_CONVERT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "elasticbsp/v1/coordinator.pb.h"
#include "lib/core/job/job_state.h"
#include "lib/core/policy/policy_config.h"
#include "lib/wire/policy_proto.h"

namespace ebsp::server {

namespace v1 = ::elasticbsp::v1;

// Policies: the translation shared with the C++ client (lib/wire).
using wire::PolicyFromProto;
using wire::PolicyToProto;

v1::WorkerState WorkerStateToProto(core::WorkerPhase phase);
v1::Directive DirectiveToProto(core::SyncAction action);

// Fills `job` from a snapshot. The auth token is never returned.
void JobToProto(const core::JobSnapshot& snapshot, absl::Time now, v1::Job* job);

double ToSeconds(absl::Duration d);

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_PROTO_CONVERT_H_
