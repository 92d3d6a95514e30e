#include "service/ha/etcd_job_store.h"

#include "absl/strings/str_cat.h"

namespace ebsp::ha {

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

absl::Status EtcdJobStore::Put(const server::JobRecord& record) {
  return client_->PutIf(jobs_prefix_ + record.job(), record.SerializeAsString(), leader_key_,
                        self_);
}

absl::Status EtcdJobStore::Delete(absl::string_view job) {
  return client_->DeleteIf(absl::StrCat(jobs_prefix_, job), leader_key_, self_);
}

}  // namespace ebsp::ha
