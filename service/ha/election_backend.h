// ElectionBackend: what leader election needs from a store with leases, so
// that etcd is one implementation and a Kubernetes Lease could be another.
//
// A candidate holds a lease of a fixed TTL that it renews; leadership is a
// key bound to the lease, created only if absent, so it disappears by itself
// when its holder stops renewing. Implementations are thread-safe.
#ifndef EBSP_SERVICE_HA_ELECTION_BACKEND_H_
#define EBSP_SERVICE_HA_ELECTION_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ebsp::ha {

using LeaseId = int64_t;

class ElectionBackend {
 public:
  virtual ~ElectionBackend() = default;

  virtual absl::StatusOr<LeaseId> GrantLease(absl::Duration ttl) = 0;
  // NOT_FOUND once the lease has expired (leadership bound to it is gone).
  virtual absl::Status RenewLease(LeaseId lease) = 0;
  virtual absl::Status RevokeLease(LeaseId lease) = 0;
  // Who holds the leadership: the address it advertises and its lease. A
  // candidate leads exactly when the holder's lease is its own: addresses
  // may repeat (a restarted pod), leases never do.
  struct Holder {
    std::string address;  // Empty when nobody leads.
    LeaseId lease = 0;
  };
  // Takes leadership for `candidate` under `lease` if nobody holds it.
  // Returns the holder afterwards.
  virtual absl::StatusOr<Holder> Campaign(LeaseId lease, absl::string_view candidate) = 0;
  // Gives leadership up if it is still held under `lease`.
  virtual absl::Status Resign(LeaseId lease) = 0;
};

class EtcdClient;

// Leadership as the etcd key `key` (e.g. /ebsp/<cluster>/leader) whose value
// is the leader's advertised address. `client` is borrowed.
std::unique_ptr<ElectionBackend> NewEtcdElectionBackend(EtcdClient* client, std::string key);

}  // namespace ebsp::ha

#endif  // EBSP_SERVICE_HA_ELECTION_BACKEND_H_
