// Caller: what one call presented to prove who it is, read once at the edge
// (the gRPC layer) and handed to the AdminAuthorizer: the bearer token of
// its `authorization` metadata, the identities of its verified client
// certificate (mutual TLS), and whether it came from loopback.
#ifndef EBSP_SERVICE_AUTH_CALLER_H_
#define EBSP_SERVICE_AUTH_CALLER_H_

#include <grpcpp/server_context.h>

#include <string>
#include <vector>

namespace ebsp::server::auth {

struct Caller {
  // "authorization" metadata was sent (well-formed or not).
  bool sent_authorization = false;
  // It was not "Bearer <token>" with a non-empty token.
  bool malformed_authorization = false;
  // The token of "authorization: Bearer <token>". Never logged.
  std::string bearer_token;
  // Common name and subject alternative names of a client certificate the
  // TLS handshake verified; empty without mutual TLS.
  std::vector<std::string> certificate_identities;
  // The peer is 127.0.0.0/8 or ::1 (gRPC's ctx->peer()).
  bool loopback = false;
};

// Reads the caller of a call. Cheap: one metadata lookup; the certificate
// properties only when the connection is authenticated.
Caller CallerOf(const grpc::ServerContextBase& context);

// True for gRPC peer strings of loopback addresses: "ipv4:127.0.0.1:5000",
// "ipv6:[::1]:5000" (and IPv4-mapped "ipv6:[::ffff:127.0.0.1]:5000").
bool IsLoopbackPeer(const std::string& peer);

}  // namespace ebsp::server::auth

#endif  // EBSP_SERVICE_AUTH_CALLER_H_
