// EtcdJobStore: the JobStore of a highly available coordinator: one etcd key
// per job, <prefix>/jobs/<name>, holding the JobRecord (binary protobuf).
// Every replica reads the same keys, so a new leader loads what the old one
// wrote.
//
// Writes are fenced in etcd itself: each Put and Delete is a transaction
// that applies only while the leadership key still names this replica, so a
// leader that lost its lease (and does not know it yet) cannot overwrite its
// successor's records. Thread-safe (EtcdClient is).
#ifndef EBSP_SERVICE_HA_ETCD_JOB_STORE_H_
#define EBSP_SERVICE_HA_ETCD_JOB_STORE_H_

#include <string>
#include <vector>

#include "service/ha/etcd_client.h"
#include "service/store/job_store.h"

namespace ebsp::ha {

class EtcdJobStore final : public server::JobStore {
 public:
  // `client` is borrowed. `leader_key` and `self` are the election's key
  // and this replica's advertised address.
  EtcdJobStore(EtcdClient* client, std::string prefix, std::string leader_key, std::string self)
      : client_(client),
        jobs_prefix_(prefix + "/jobs/"),
        leader_key_(std::move(leader_key)),
        self_(std::move(self)) {}

  absl::StatusOr<std::vector<server::JobRecord>> LoadAll() override;
  absl::Status Put(const server::JobRecord& record) override;
  absl::Status Delete(absl::string_view job) override;

 private:
  EtcdClient* const client_;
  const std::string jobs_prefix_;
  const std::string leader_key_;
  const std::string self_;
};

}  // namespace ebsp::ha

#endif  // EBSP_SERVICE_HA_ETCD_JOB_STORE_H_
