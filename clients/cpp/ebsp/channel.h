// The gRPC channel the client dials the coordinator with. Its reconnect
// backoff is short (50 ms to 1 s instead of gRPC's 1 s to 120 s) so that a
// restarted coordinator is found again within the client's own retry budget.
// It pings the coordinator every 10 s, also between calls, and drops the
// connection when a ping is not acknowledged within 5 s: a coordinator that
// froze (SIGSTOP, a stalled VM) keeps its TCP connections open, and without
// pings a call parked on one (a Barrier) would wait for it forever. The
// coordinator permits pings every 5 s (service/server.cc).
// Plaintext by default; TLS or mutual TLS with TlsChannelOptions.
#ifndef EBSP_CLIENTS_CPP_EBSP_CHANNEL_H_
#define EBSP_CLIENTS_CPP_EBSP_CHANNEL_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace ebsp::client {

// How to secure the channel. The files are read whenever a channel is made
// (the client makes a new one after a connection failure), so a rotated
// client certificate is picked up without a restart.
struct TlsChannelOptions {
  bool enabled = false;  // false: plaintext (local development only).
  // PEM CA bundle that signed the coordinator's certificate. Empty: the
  // system's roots.
  std::string ca_file;
  // PEM client certificate chain and key, for a coordinator that requires
  // client certificates (mutual TLS). Both or neither.
  std::string cert_file;
  std::string key_file;
  // The name the coordinator's certificate must carry, when it is not the
  // host of the target (e.g. dialing an IP address or a port-forward).
  std::string server_name;
};

// Channel credentials from the options: insecure when !enabled.
// INVALID_ARGUMENT naming the file that cannot be read, or for a key without
// a certificate.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsChannelOptions& tls);

// A channel to "host:port" with the short reconnect backoff. Cheap to share
// between clients and threads (tools such as the demo use one for their
// GetJob calls). `server_name` overrides the name checked in the server's
// certificate (TLS only).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials,
                                           const std::string& server_name = "");

// The keepalive above, exported for tests and tools that build their own
// channel arguments.
inline constexpr int kKeepaliveTimeMs = 10000;
inline constexpr int kKeepaliveTimeoutMs = 5000;

// The host of a "host:port" target ("[::1]:50051" -> "::1"; a "dns:///"
// scheme is dropped): the name a redirected TLS channel verifies when
// TlsChannelOptions.server_name is empty (connection.h).
std::string TargetHost(const std::string& target);

// Plaintext channel to "host:port".
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target);

// Reads the TLS files and dials: the error of MakeChannelCredentials.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                           const TlsChannelOptions& tls);

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_CHANNEL_H_
