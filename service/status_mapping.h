// The one place where a core absl::Status becomes a grpc::Status.
//
// absl::StatusCode and grpc::StatusCode share their numbering (both follow
// google.rpc.Code), so the code carries over unchanged and the message is
// kept verbatim: clients show it to people.
#ifndef EBSP_SERVICE_STATUS_MAPPING_H_
#define EBSP_SERVICE_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace ebsp::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_STATUS_MAPPING_H_
