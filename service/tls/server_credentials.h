// The gRPC server credentials of the coordinator's port, from TlsOptions:
// insecure credentials for plaintext, or TLS whose certificates a
// grpc::experimental::FileWatcherCertificateProvider reads again every
// reload_interval. A rotated key pair (or client CA) applies to new
// handshakes only; established connections keep the session they have, so
// rotation drops nothing. The provider keeps the last good pair when the
// files are half-written or do not match, so swap them atomically (the
// Kubernetes Secret volume's ..data symlink does).
#ifndef EBSP_SERVICE_TLS_SERVER_CREDENTIALS_H_
#define EBSP_SERVICE_TLS_SERVER_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/tls/tls_options.h"

namespace ebsp::server {

// INVALID_ARGUMENT when the options do not fit together (a key without a
// certificate, a required client certificate without a client CA) or a file
// is missing, unreadable or holds no PEM block of the expected kind: checked
// once here so that a typo fails the start instead of every handshake.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options);

// For the start log line: "plaintext", "tls", "mtls" (client certificate
// required) or "tls_client_cert_optional" (verified when presented).
const char* TransportName(const TlsOptions& options);

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_TLS_SERVER_CREDENTIALS_H_
