// The client's link to the coordinator: a gRPC channel and its stub, with
// the ability to start over on a fresh channel.
//
// Why: with gRPC 1.51, a channel whose first connection attempts were
// refused stays in TRANSIENT_FAILURE and fails every call at once with the
// old error, even for seconds after the coordinator is back (measured: no
// recovery within 5 s, with or without ChannelResetConnectionBackoff); a new
// channel connects at once. So a retry after a connection failure runs on a
// new channel. A new channel reads the TLS files again (a rotated client
// certificate); if they cannot be read then, the last credentials stay.
// Thread-safe.
#ifndef EBSP_CLIENTS_CPP_EBSP_CONNECTION_H_
#define EBSP_CLIENTS_CPP_EBSP_CONNECTION_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "clients/cpp/ebsp/channel.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"

namespace ebsp::client {

class Connection {
 public:
  // Dials `target` (MakeChannel) with `credentials` (insecure if null),
  // made from `tls`; or uses `channel` if given: a channel supplied by the
  // caller is never replaced.
  Connection(std::string target, std::shared_ptr<grpc::Channel> channel, TlsChannelOptions tls = {},
             std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

  // The current stub; it keeps its channel alive while a call uses it.
  std::shared_ptr<elasticbsp::v1::Coordinator::Stub> stub() const;
  // The current channel is READY (connected to a coordinator).
  bool connected() const;
  // Replaces the channel unless it is READY or was supplied by the caller.
  void Reconnect();

 private:
  std::shared_ptr<grpc::Channel> Dial() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string target_;
  const bool owns_channel_;
  const TlsChannelOptions tls_;
  mutable absl::Mutex mu_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<elasticbsp::v1::Coordinator::Stub> stub_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_CONNECTION_H_
