// EtcdJobStore: the JobStore of a highly available coordinator: one etcd key
// per job, <prefix>/jobs/<job>, holding its JobRecord (binary protobuf).
// Every replica reads the same keys, so a new leader loads what the old one
// wrote (docs/ha.md, "What a failover keeps").
//
// Writes are fenced in etcd itself: each Put and Delete is a transaction
// that applies only while the leadership key is bound to the lease this
// replica leads under, so a leader that lost its lease and does not know it
// yet (frozen, partitioned) cannot overwrite its successor's records. A
// replica that does not lead writes nothing: FAILED_PRECONDITION.
// Thread-safe (EtcdClient is; the elector is read through an atomic).
#ifndef EBSP_SERVICE_HA_ETCD_JOB_STORE_H_
#define EBSP_SERVICE_HA_ETCD_JOB_STORE_H_

#include <atomic>
#include <string>
#include <vector>

#include "service/ha/etcd_client.h"
#include "service/ha/leader_elector.h"
#include "service/store/job_store.h"

namespace ebsp::ha {

class EtcdJobStore final : public server::JobStore {
 public:
  // `client` is borrowed. Records live under <prefix>/jobs/; `leader_key`
  // is the election's key.
  EtcdJobStore(EtcdClient* client, const std::string& prefix, std::string leader_key);

  // The elector whose lease fences the writes (borrowed; it must outlive
  // the store's use). Until it is set, every write is refused.
  void FenceWith(const LeaderElector* elector) { elector_.store(elector); }

  absl::StatusOr<std::vector<server::JobRecord>> LoadAll() override;
  absl::Status Put(const server::JobRecord& record) override;
  absl::Status Delete(absl::string_view job) override;

 private:
  absl::StatusOr<LeaseId> Fence() const;

  EtcdClient* const client_;
  const std::string jobs_prefix_;
  const std::string leader_key_;
  std::atomic<const LeaderElector*> elector_{nullptr};
};

}  // namespace ebsp::ha

#endif  // EBSP_SERVICE_HA_ETCD_JOB_STORE_H_
