#include "clients/cpp/ebsp/connection.h"

#include <utility>

#include "clients/cpp/ebsp/channel.h"

namespace ebsp::client {

Connection::Connection(std::string target, std::shared_ptr<grpc::Channel> channel)
    : target_(std::move(target)), owns_channel_(channel == nullptr) {
  channel_ = owns_channel_ ? MakeChannel(target_) : std::move(channel);
  stub_ = elasticbsp::v1::Coordinator::NewStub(channel_);
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
  channel_ = MakeChannel(target_);
  stub_ = elasticbsp::v1::Coordinator::NewStub(channel_);
}

}  // namespace ebsp::client
