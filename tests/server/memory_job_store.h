// MemoryJobStore: a JobStore in memory for in-process tests and the
// service_handlers fuzz target, which can be told to refuse writes (a full
// or failing disk) to check what the service answers then.
#ifndef EBSP_TESTS_SERVER_MEMORY_JOB_STORE_H_
#define EBSP_TESTS_SERVER_MEMORY_JOB_STORE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/store/job_store.h"

namespace ebsp::server::testing {

// Thread-compatible: in-process tests and the fuzz target call it from one
// thread.
class MemoryJobStore final : public JobStore {
 public:
  absl::StatusOr<std::vector<JobRecord>> LoadAll() override {
    std::vector<JobRecord> all;
    for (const auto& [name, record] : records_) all.push_back(record);
    return all;
  }
  absl::Status Put(const JobRecord& record) override {
    if (failing_) return absl::UnavailableError("memory store: writes refused (disk full)");
    records_[record.job()] = record;
    return absl::OkStatus();
  }
  absl::Status Delete(absl::string_view job) override {
    if (failing_) return absl::UnavailableError("memory store: writes refused (disk full)");
    records_.erase(std::string(job));
    return absl::OkStatus();
  }

  // While set, Put and Delete fail with UNAVAILABLE and change nothing.
  void set_failing(bool failing) { failing_ = failing; }
  const std::map<std::string, JobRecord>& records() const { return records_; }

 private:
  bool failing_ = false;
  std::map<std::string, JobRecord> records_;
};

}  // namespace ebsp::server::testing

#endif  // EBSP_TESTS_SERVER_MEMORY_JOB_STORE_H_
