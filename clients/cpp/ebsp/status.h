// Conversion of gRPC call results into absl::Status, the error type of the
// client's API, keeping the coordinator's code and message.
#ifndef EBSP_CLIENTS_CPP_EBSP_STATUS_H_
#define EBSP_CLIENTS_CPP_EBSP_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ebsp::client {

// Same code and message; the method name is prefixed so that an error that
// surfaces in a training log says which call failed ("Barrier: ...").
absl::Status FromGrpcStatus(absl::string_view method, const grpc::Status& status);

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_STATUS_H_
