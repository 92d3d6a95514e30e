#include "service/tls/server_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ebsp::server {
namespace {

// A PEM file is small; a larger one is the wrong file.
constexpr std::streamsize kMaxPemBytes = 1 << 20;

// OK when `path` is a readable file with a PEM block whose label contains
// `label` ("CERTIFICATE", "PRIVATE KEY").
absl::Status CheckPemFile(const char* flag, const std::string& path, const char* label) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", path, ": cannot be read"));
  }
  std::string text(static_cast<size_t>(kMaxPemBytes) + 1, '\0');
  in.read(text.data(), kMaxPemBytes + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  if (static_cast<std::streamsize>(text.size()) > kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": larger than ", kMaxPemBytes, " bytes"));
  }
  const size_t begin = text.find("-----BEGIN ");
  const size_t end_of_label = begin == std::string::npos ? begin : text.find("-----", begin + 11);
  if (end_of_label == std::string::npos ||
      !absl::StrContains(text.substr(begin, end_of_label - begin), label)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": no PEM ", label, " block"));
  }
  return absl::OkStatus();
}

absl::Status CheckOptions(const TlsOptions& options) {
  if (!options.enabled()) {
    if (!options.key_file.empty() || !options.client_ca_file.empty() ||
        options.require_client_cert) {
      return absl::InvalidArgumentError(
          "--tls_key, --tls_client_ca and --tls_require_client_cert need --tls_cert");
    }
    return absl::OkStatus();
  }
  if (options.key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert needs --tls_key");
  }
  if (options.require_client_cert && options.client_ca_file.empty()) {
    return absl::InvalidArgumentError("--tls_require_client_cert needs --tls_client_ca");
  }
  if (options.reload_interval < absl::Seconds(1) || options.reload_interval > absl::Hours(24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_reload_interval=", absl::FormatDuration(options.reload_interval),
                     " must be between 1s and 24h"));
  }
  if (absl::Status s = CheckPemFile("tls_cert", options.cert_file, "CERTIFICATE"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPemFile("tls_key", options.key_file, "PRIVATE KEY"); !s.ok()) {
    return s;
  }
  if (!options.client_ca_file.empty()) {
    if (absl::Status s = CheckPemFile("tls_client_ca", options.client_ca_file, "CERTIFICATE");
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  const auto refresh_seconds =
      static_cast<unsigned int>(absl::ToInt64Seconds(options.reload_interval));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file, refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.client_ca_file.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(options.require_client_cert
                                  ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                  : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

const char* TransportName(const TlsOptions& options) {
  if (!options.enabled()) return "plaintext";
  if (options.client_ca_file.empty()) return "tls";
  return options.require_client_cert ? "mtls" : "tls_client_cert_optional";
}

}  // namespace ebsp::server
