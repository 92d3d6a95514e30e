#include "service/auth/caller.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace ebsp::server::auth {
namespace {

constexpr absl::string_view kBearerPrefix = "Bearer ";

}  // namespace

bool IsLoopbackPeer(const std::string& peer) {
  return absl::StartsWith(peer, "ipv4:127.") || absl::StartsWith(peer, "ipv6:[::1]:") ||
         absl::StartsWith(peer, "ipv6:[::ffff:127.");
}

Caller CallerOf(const grpc::ServerContextBase& context) {
  Caller caller;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    caller.sent_authorization = true;
    const absl::string_view value(it->second.data(), it->second.size());
    if (absl::StartsWith(value, kBearerPrefix) && value.size() > kBearerPrefix.size()) {
      caller.bearer_token = std::string(value.substr(kBearerPrefix.size()));
    } else {
      caller.malformed_authorization = true;
    }
  }
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
      for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
        caller.certificate_identities.emplace_back(value.data(), value.size());
      }
    }
  }
  caller.loopback = IsLoopbackPeer(context.peer());
  return caller;
}

}  // namespace ebsp::server::auth
