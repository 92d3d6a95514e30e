#include "clients/cpp/ebsp/connection.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "clients/cpp/ebsp/channel.h"

namespace ebsp::client {
namespace {

// A leader address longer than this is not one (a hostname is at most 253).
constexpr size_t kMaxLeaderAddressLength = 300;

}  // namespace

std::optional<std::string> LeaderHint(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto found = trailers.find(kLeaderMetadataKey);
  if (found == trailers.end()) return std::nullopt;
  std::string leader(found->second.data(), found->second.size());
  if (leader.empty() || leader.size() > kMaxLeaderAddressLength ||
      !absl::StrContains(leader, ':')) {
    return std::nullopt;
  }
  return leader;
}

Connection::Connection(std::string target, std::shared_ptr<grpc::Channel> channel,
                       TlsChannelOptions tls, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : target_(std::move(target)), owns_channel_(channel == nullptr), tls_(std::move(tls)) {
  absl::MutexLock lock(&mu_);
  credentials_ =
      credentials != nullptr ? std::move(credentials) : grpc::InsecureChannelCredentials();
  current_target_ = target_;
  channel_ = owns_channel_
                 ? MakeChannel(target_, credentials_, tls_.enabled ? tls_.server_name : "")
                 : std::move(channel);
  stub_ = elasticbsp::v1::Coordinator::NewStub(channel_);
}

void Connection::DialLocked(const std::string& address) {
  // Read again: cert-manager may have rotated the client certificate.
  if (tls_.enabled) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> fresh = MakeChannelCredentials(tls_);
    if (fresh.ok()) credentials_ = *std::move(fresh);
  }
  std::string server_name;
  if (tls_.enabled) {
    // A leader named by a standby is verified as the configured target
    // would be (see the header).
    server_name = !tls_.server_name.empty() ? tls_.server_name
                  : address == target_      ? ""
                                            : TargetHost(target_);
  }
  current_target_ = address;
  channel_ = MakeChannel(address, credentials_, server_name);
  stub_ = elasticbsp::v1::Coordinator::NewStub(channel_);
  ++channel_number_;
}

Connection::Route Connection::route() const {
  absl::MutexLock lock(&mu_);
  return Route{stub_, channel_number_};
}

bool Connection::connected() const {
  absl::MutexLock lock(&mu_);
  return channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

std::string Connection::current_target() const {
  absl::MutexLock lock(&mu_);
  return current_target_;
}

bool Connection::redirected() const {
  absl::MutexLock lock(&mu_);
  return current_target_ != target_;
}

bool Connection::FollowLeader(const std::string& leader) {
  absl::MutexLock lock(&mu_);
  if (!owns_channel_ || leader == current_target_) return false;
  if (leader == abandoned_target_ && absl::Now() - abandoned_at_ < kAbandonedQuarantine) {
    return false;
  }
  DialLocked(leader);
  return true;
}

void Connection::Reconnect(bool unavailable_while_connected) {
  absl::MutexLock lock(&mu_);
  if (!owns_channel_) {
    grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
    return;
  }
  if (current_target_ == target_ && !unavailable_while_connected &&
      channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY) {
    return;
  }
  DialLocked(target_);
}

void Connection::Abandon(uint64_t channel) {
  absl::MutexLock lock(&mu_);
  if (!owns_channel_ || channel != channel_number_) return;
  for (const auto& [context, on_channel] : in_flight_) {
    if (on_channel == channel) context->TryCancel();
  }
  abandoned_target_ = current_target_;
  abandoned_at_ = absl::Now();
  DialLocked(target_);
}

Connection::InFlight::InFlight(Connection& connection, grpc::ClientContext* context,
                               uint64_t channel)
    : connection_(connection), context_(context) {
  absl::MutexLock lock(&connection_.mu_);
  connection_.in_flight_[context_] = channel;
}

Connection::InFlight::~InFlight() {
  absl::MutexLock lock(&connection_.mu_);
  connection_.in_flight_.erase(context_);
}

}  // namespace ebsp::client
