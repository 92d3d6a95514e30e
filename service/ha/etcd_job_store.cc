#include "service/ha/etcd_job_store.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ebsp::ha {

EtcdJobStore::EtcdJobStore(EtcdClient* client, const std::string& prefix, std::string leader_key)
    : client_(client), jobs_prefix_(prefix + "/jobs/"), leader_key_(std::move(leader_key)) {}

absl::StatusOr<std::vector<server::JobRecord>> EtcdJobStore::LoadAll() {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> kvs =
      client_->GetPrefix(jobs_prefix_);
  if (!kvs.ok()) return kvs.status();
  std::vector<server::JobRecord> records;
  records.reserve(kvs->size());
  for (const auto& [key, value] : *kvs) {
    server::JobRecord record;
    if (!record.ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat("etcd key ", key, " is not a job record"));
    }
    if (key != jobs_prefix_ + record.job()) {
      return absl::DataLossError(
          absl::StrCat("etcd key ", key, " holds the record of job \"", record.job(), "\""));
    }
    records.push_back(std::move(record));
  }
  return records;
}

absl::StatusOr<LeaseId> EtcdJobStore::Fence() const {
  const LeaderElector* elector = elector_.load();
  const LeaseId lease = elector != nullptr ? elector->leader_lease() : 0;
  if (lease == 0) {
    return absl::FailedPreconditionError("this replica does not lead: it writes no job records");
  }
  return lease;
}

absl::Status EtcdJobStore::Put(const server::JobRecord& record) {
  absl::StatusOr<LeaseId> lease = Fence();
  if (!lease.ok()) return lease.status();
  return client_->PutIf(jobs_prefix_ + record.job(), record.SerializeAsString(), leader_key_,
                        *lease);
}

absl::Status EtcdJobStore::Delete(absl::string_view job) {
  absl::StatusOr<LeaseId> lease = Fence();
  if (!lease.ok()) return lease.status();
  return client_->DeleteIf(absl::StrCat(jobs_prefix_, job), leader_key_, *lease);
}

}  // namespace ebsp::ha
