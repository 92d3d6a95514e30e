#include "clients/cpp/ebsp/status.h"

#include "absl/strings/str_cat.h"

namespace ebsp::client {

absl::Status FromGrpcStatus(absl::string_view method, const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // grpc::StatusCode and absl::StatusCode share their numeric values (both
  // follow google.rpc.Code).
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(method, ": ", status.error_message()));
}

}  // namespace ebsp::client
