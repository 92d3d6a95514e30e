// EtcdClient: the few etcd v3 calls the coordinator needs, over etcd's gRPC
// API: leases (grant, keep alive, revoke), a create-if-absent transaction for
// leader election, and get / put / delete by key or prefix for the job store.
//
// Why gRPC and not the JSON gateway: gRPC and Protobuf are already linked,
// TLS to etcd comes with the same credentials code as our own port, and the
// messages are checked at compile time (etcd_v3_subset.proto). Nothing is
// downloaded: the subset is written out with etcd's field numbers.
//
// Every call is synchronous with its own deadline (`call_timeout`). With more
// than one endpoint, a call that finds its endpoint UNAVAILABLE is tried once
// on each of the others, so one etcd member down costs one timeout at most.
// Thread-safe.
#ifndef EBSP_SERVICE_HA_ETCD_CLIENT_H_
#define EBSP_SERVICE_HA_ETCD_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "etcd_v3_subset.grpc.pb.h"

namespace ebsp::ha {

struct EtcdOptions {
  // host:port of each etcd member (the client URLs without the scheme).
  std::vector<std::string> endpoints;
  absl::Duration call_timeout = absl::Seconds(2);
  // TLS to etcd: all empty means plaintext. PEM file paths.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// Parses "http://a:2379,https://b:2379,c:2379" into host:port endpoints.
// INVALID_ARGUMENT for an empty list or an endpoint without a port.
absl::StatusOr<std::vector<std::string>> ParseEndpoints(absl::string_view list);

class EtcdClient {
 public:
  // Reads the TLS files; INVALID_ARGUMENT if one cannot be read. Does not
  // connect: the first call does.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(const EtcdOptions& options);

  // A new lease of `ttl` (whole seconds, at least 1). Returns its id.
  absl::StatusOr<int64_t> GrantLease(absl::Duration ttl);
  // Renews `lease`; returns the TTL etcd granted. NOT_FOUND once it expired.
  absl::StatusOr<absl::Duration> KeepAlive(int64_t lease);
  absl::Status RevokeLease(int64_t lease);

  // A key's value and the lease it is bound to (0: none; an empty value
  // and lease 0 when the key does not exist).
  struct Holder {
    std::string value;
    int64_t lease = 0;
  };
  // Puts key = value bound to `lease` if the key does not exist. Returns who
  // holds the key afterwards: (`value`, `lease`) when this call created it.
  absl::StatusOr<Holder> CreateIfAbsent(absl::string_view key, absl::string_view value,
                                        int64_t lease);

  // Put / delete `key` only while `guard_key` is bound to `guard_lease`, in
  // one transaction: a replica that lost its leadership cannot overwrite
  // what its successor wrote. The guard is the lease, not the value, so it
  // holds even when two replicas advertise the same address (a restarted
  // pod, or every replica configured with the Service's name).
  // FAILED_PRECONDITION when the guard does not hold.
  absl::Status PutIf(absl::string_view key, absl::string_view value, absl::string_view guard_key,
                     int64_t guard_lease);
  absl::Status DeleteIf(absl::string_view key, absl::string_view guard_key, int64_t guard_lease);

  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key);
  absl::Status Put(absl::string_view key, absl::string_view value);
  absl::Status Delete(absl::string_view key);
  // Every key with `prefix`, in key order, with its value.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> GetPrefix(
      absl::string_view prefix);

 private:
  struct Endpoint {
    std::string address;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  };

  EtcdClient(EtcdOptions options, std::vector<Endpoint> endpoints);

  // Runs `call(endpoint, context)` on the preferred endpoint, then on each
  // other one while the status is UNAVAILABLE or DEADLINE_EXCEEDED; the
  // endpoint that answered becomes the preferred one.
  template <typename Call>
  absl::Status OnSomeEndpoint(absl::string_view what, Call call);
  absl::Status RunTxn(const etcdserverpb::TxnRequest& request, etcdserverpb::TxnResponse* response);

  const EtcdOptions options_;
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> preferred_{0};
};

}  // namespace ebsp::ha

#endif  // EBSP_SERVICE_HA_ETCD_CLIENT_H_
