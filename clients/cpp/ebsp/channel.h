// The gRPC channel the client dials the coordinator with. Its reconnect
// backoff is short (50 ms to 1 s instead of gRPC's 1 s to 120 s) so that a
// restarted coordinator is found again within the client's own retry budget.
#ifndef EBSP_CLIENTS_CPP_EBSP_CHANNEL_H_
#define EBSP_CLIENTS_CPP_EBSP_CHANNEL_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>

namespace ebsp::client {

// Insecure channel to "host:port". Cheap to share between clients and
// threads (tools such as the demo use one for their GetJob calls).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target);

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_CHANNEL_H_
