// The client's link to the coordinator: a gRPC channel and its stub, with
// the ability to start over on a fresh channel, to follow a standby's leader
// hint, and to abandon a channel whose coordinator stopped answering.
//
// Why a fresh channel: with gRPC 1.51, a channel whose first connection
// attempts were refused stays in TRANSIENT_FAILURE and fails every call at
// once with the old error, even for seconds after the coordinator is back
// (measured: no recovery within 5 s, with or without
// ChannelResetConnectionBackoff); a new channel connects at once. So a retry
// after a connection failure runs on a new channel. A new channel reads the
// TLS files again (a rotated client certificate); if they cannot be read
// then, the last credentials stay.
//
// High availability (docs/ha.md): a standby replica answers UNAVAILABLE with
// the trailing metadata `ebsp-leader: HOST:PORT`. FollowLeader dials that
// address; the channel is then "redirected" until an attempt on it goes
// unanswered, when Reconnect goes back to the configured target (a
// Kubernetes Service routes the new connection to a live replica). A
// redirected TLS channel verifies the same name as the configured one
// (TlsChannelOptions.server_name, else the configured target's host): every
// replica serves under the Service's identity, and the hint came from a
// replica already verified under it, while the leader's address is usually a
// pod IP no certificate names.
//
// The liveness probe: calls register their ClientContext while in flight
// (InFlight); Abandon cancels those of a channel the heartbeat found
// unresponsive (a frozen coordinator keeps its TCP connection open, so a
// Barrier parked on it would wait for keepalive) and dials afresh.
//
// A channel supplied by the caller is never replaced (and never redirected).
// Thread-safe.
#ifndef EBSP_CLIENTS_CPP_EBSP_CONNECTION_H_
#define EBSP_CLIENTS_CPP_EBSP_CONNECTION_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/channel.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"

namespace ebsp::client {

// The trailing metadata key a standby names the leader in.
inline constexpr char kLeaderMetadataKey[] = "ebsp-leader";

// The leader a finished call's trailing metadata names (`ebsp-leader`), if
// any and if it looks like "host:port".
std::optional<std::string> LeaderHint(const grpc::ClientContext& context);

// How long a leader hint naming an address the probe found unresponsive is
// not followed: past a lease TTL (default 5 s), by when a standby names the
// new leader.
inline constexpr absl::Duration kAbandonedQuarantine = absl::Seconds(10);

class Connection {
 public:
  // Dials `target` (MakeChannel) with `credentials` (insecure if null),
  // made from `tls`; or uses `channel` if given: a channel supplied by the
  // caller is never replaced.
  Connection(std::string target, std::shared_ptr<grpc::Channel> channel, TlsChannelOptions tls = {},
             std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

  // What an attempt runs on: the current stub (it keeps its channel alive
  // while a call uses it) and the number of the channel it belongs to.
  struct Route {
    std::shared_ptr<elasticbsp::v1::Coordinator::Stub> stub;
    uint64_t channel = 0;
  };
  Route route() const;
  std::shared_ptr<elasticbsp::v1::Coordinator::Stub> stub() const { return route().stub; }

  // The current channel is READY (connected to a coordinator).
  bool connected() const;
  // The address the current channel dials: the configured target, or the
  // leader a standby named.
  std::string current_target() const;
  bool redirected() const;

  // A standby named `leader`: dials it unless the current channel already
  // goes there, was supplied by the caller, or `leader` is the address the
  // probe abandoned less than kAbandonedQuarantine ago (a standby names the
  // frozen leader until its lease ends). True if the next attempt goes to a
  // new address.
  bool FollowLeader(const std::string& leader);
  // After an attempt nobody served. A redirected channel, or one on which a
  // connected server said UNAVAILABLE (a standby that knows no leader, a
  // draining replica: `unavailable_while_connected`), is replaced by a fresh
  // channel to the configured target, so that a Service routes the new
  // connection anew. Otherwise the channel is replaced unless it is READY.
  void Reconnect(bool unavailable_while_connected = false);
  // The liveness probe found channel `channel` unresponsive: cancels the
  // calls in flight on it and dials the configured target afresh. Nothing
  // if that channel was replaced meanwhile or was supplied by the caller.
  void Abandon(uint64_t channel);

  // Registers a call in flight on route `channel` for Abandon; the context
  // must outlive this object.
  class InFlight {
   public:
    InFlight(Connection& connection, grpc::ClientContext* context, uint64_t channel);
    ~InFlight();
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    Connection& connection_;
    grpc::ClientContext* const context_;
  };

 private:
  // A fresh channel to `address` (credentials read again), made current.
  void DialLocked(const std::string& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string target_;
  const bool owns_channel_;
  const TlsChannelOptions tls_;
  mutable absl::Mutex mu_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<elasticbsp::v1::Coordinator::Stub> stub_ ABSL_GUARDED_BY(mu_);
  std::string current_target_ ABSL_GUARDED_BY(mu_);
  uint64_t channel_number_ ABSL_GUARDED_BY(mu_) = 1;
  // The address of the channel Abandon last gave up on, and when.
  std::string abandoned_target_ ABSL_GUARDED_BY(mu_);
  absl::Time abandoned_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Calls in flight, with the channel each runs on.
  absl::flat_hash_map<grpc::ClientContext*, uint64_t> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_CONNECTION_H_
