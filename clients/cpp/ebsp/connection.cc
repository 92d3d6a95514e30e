#include "clients/cpp/ebsp/connection.h"

#include <utility>

#include "clients/cpp/ebsp/channel.h"

namespace ebsp::client {

Connection::Connection(std::string target, std::shared_ptr<grpc::Channel> channel,
                       TlsChannelOptions tls, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : target_(std::move(target)), owns_channel_(channel == nullptr), tls_(std::move(tls)) {
  absl::MutexLock lock(&mu_);
  credentials_ =
      credentials != nullptr ? std::move(credentials) : grpc::InsecureChannelCredentials();
  channel_ = owns_channel_
                 ? MakeChannel(target_, credentials_, tls_.enabled ? tls_.server_name : "")
                 : std::move(channel);
  stub_ = elasticbsp::v1::Coordinator::NewStub(channel_);
}

std::shared_ptr<grpc::Channel> Connection::Dial() {
  // Read again: cert-manager may have rotated the client certificate.
  if (tls_.enabled) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> fresh = MakeChannelCredentials(tls_);
    if (fresh.ok()) credentials_ = *std::move(fresh);
  }
  return MakeChannel(target_, credentials_, tls_.enabled ? tls_.server_name : "");
}

std::shared_ptr<elasticbsp::v1::Coordinator::Stub> Connection::stub() const {
  absl::MutexLock lock(&mu_);
  return stub_;
}

bool Connection::connected() const {
  absl::MutexLock lock(&mu_);
  return channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

void Connection::Reconnect() {
  absl::MutexLock lock(&mu_);
  if (channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY) return;
  if (!owns_channel_) {
    grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
    return;
  }
  channel_ = Dial();
  stub_ = elasticbsp::v1::Coordinator::NewStub(channel_);
}

}  // namespace ebsp::client
