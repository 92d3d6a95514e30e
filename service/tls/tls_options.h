// TlsOptions: how the coordinator's gRPC port is secured. Empty `cert_file`
// means plaintext (local development); otherwise TLS with the server
// certificate and key, and mutual TLS when `client_ca_file` is given.
#ifndef EBSP_SERVICE_TLS_TLS_OPTIONS_H_
#define EBSP_SERVICE_TLS_TLS_OPTIONS_H_

#include <string>

#include "absl/time/time.h"

namespace ebsp::server {

struct TlsOptions {
  // PEM server certificate chain and its private key. Both or neither.
  std::string cert_file;
  std::string key_file;
  // PEM bundle of the CAs whose client certificates are accepted. Empty: no
  // client certificate is asked for.
  std::string client_ca_file;
  // Refuse the handshake of a client without a certificate signed by
  // `client_ca_file` (mutual TLS). Without it a presented certificate is
  // still verified, and a client without one gets plain TLS.
  bool require_client_cert = false;
  // How often the three files are read again (cert-manager rotation). gRPC
  // checks at whole seconds, at least 1 s.
  absl::Duration reload_interval = absl::Seconds(10);

  bool enabled() const { return !cert_file.empty(); }
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_TLS_TLS_OPTIONS_H_
