// LeaderElector: makes this coordinator replica the leader or a standby,
// through an ElectionBackend (etcd), and fences it.
//
// One background thread campaigns and renews the lease: a standby tries to
// take the leadership key every `poll_interval`; the leader renews its lease
// every `ttl / 3`. Fencing is local and needs no message: the leader serves
// only while the clock is before (start of its last successful renewal + ttl
// - margin). etcd counts the same TTL from a later instant (when the renewal
// arrived), so the old leader stops answering as leader before etcd lets a
// successor take the key, even if it was frozen (SIGSTOP, a long GC-like
// pause) and has not run a single line since: IsLeader() reads the clock.
//
//     standby --campaign won, on_elected() done--> leader
//     leader  --renewal failed past the fence / lease gone / key taken /
//               Stop()--> on_deposed() --> standby
//
// on_elected runs before IsLeader() turns true (the service loads the job
// store there); on_deposed runs after it turned false (the service ends
// every parked call). Both run on the elector's thread, never under its lock.
// Thread-safe.
#ifndef EBSP_SERVICE_HA_LEADER_ELECTOR_H_
#define EBSP_SERVICE_HA_LEADER_ELECTOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/clock.h"
#include "service/ha/election_backend.h"
#include "service/leadership.h"

namespace ebsp::ha {

struct ElectionOptions {
  // What a standby tells clients and what the leadership key holds.
  std::string candidate_address;
  absl::Duration lease_ttl = absl::Seconds(5);
  // How often a standby tries to take over (bounds the failover pause
  // beyond the TTL).
  absl::Duration poll_interval = absl::Milliseconds(250);
  // Subtracted from the lease's local validity, for clock rate differences
  // between this host and etcd's.
  absl::Duration fencing_margin = absl::Milliseconds(250);
  std::function<absl::Status()> on_elected;  // May be empty.
  std::function<void()> on_deposed;          // May be empty.
};

class LeaderElector final : public server::Leadership {
 public:
  // `backend` and `clock` are borrowed and must outlive the elector.
  LeaderElector(ElectionOptions options, ElectionBackend* backend, const server::Clock* clock);
  ~LeaderElector();  // Stops.
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void Start();
  // Resigns (deletes the key if still ours, revokes the lease) and joins:
  // a rolling update hands over without waiting for the TTL.
  void Stop();

  // True only while this replica holds the leadership and its fence has not
  // passed. Cheap: two atomic loads and a clock read.
  bool IsLeader() const override;
  // The leader's address as last seen ("" when unknown).
  std::string LeaderAddress() const override;
  // The lease this replica leads under (0 when it does not lead): what its
  // writes to etcd are guarded by (EtcdClient::PutIf), so that a write from
  // a deposed leader that does not know it yet is refused by etcd itself.
  LeaseId leader_lease() const { return leader_lease_.load(std::memory_order_acquire); }
  // How many times this replica became leader.
  int terms() const { return terms_.load(); }

 private:
  void Run();
  // One round of the loop; returns how long to wait before the next.
  absl::Duration Step();
  void Depose(const char* why);

  const ElectionOptions options_;
  ElectionBackend* const backend_;
  const server::Clock* const clock_;

  std::atomic<bool> leading_{false};
  std::atomic<int64_t> fence_unix_nanos_{0};
  std::atomic<int> terms_{0};
  std::atomic<LeaseId> leader_lease_{0};

  // Only the elector's thread touches these.
  LeaseId lease_ = 0;
  absl::Time lease_valid_until_;
  absl::Time last_renewal_;

  mutable absl::Mutex mu_;
  std::string leader_address_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ebsp::ha

#endif  // EBSP_SERVICE_HA_LEADER_ELECTOR_H_
