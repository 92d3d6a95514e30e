#include "service/job_registry.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ebsp::server {

JobRegistry::JobRegistry(Metrics* metrics, int max_jobs) : metrics_(metrics), max_jobs_(max_jobs) {
  metrics_->SetJobCount(0);
}

absl::StatusOr<JobRegistry::Created> JobRegistry::Create(const std::string& name,
                                                         core::JobOptions options, JobOrigin origin,
                                                         absl::Time now, bool existing_ok) {
  absl::MutexLock lock(&mu_);
  if (auto it = jobs_.find(name); it != jobs_.end()) {
    if (existing_ok) return Created{it->second, false};
    return absl::AlreadyExistsError(absl::StrCat("job \"", name, "\" already exists"));
  }
  if (static_cast<int>(jobs_.size()) >= max_jobs_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create job \"", name, "\": the coordinator already has ", jobs_.size(),
                     " jobs (--max_jobs=", max_jobs_, ")"));
  }
  auto entry = std::make_shared<JobEntry>(name, std::move(options), std::move(origin), now,
                                          metrics_->AddJob(name));
  jobs_.emplace(name, entry);
  metrics_->SetJobCount(static_cast<int>(jobs_.size()));
  return Created{std::move(entry), true};
}

absl::StatusOr<std::shared_ptr<JobEntry>> JobRegistry::Find(absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = jobs_.find(name);
  if (it == jobs_.end()) {
    return absl::NotFoundError(absl::StrCat("job \"", std::string(name), "\" does not exist"));
  }
  return it->second;
}

absl::Status JobRegistry::Delete(absl::string_view name, Completions* out) {
  // The job's series go away under the registry lock, so a job re-created
  // with the same name never shares (and then loses) them.
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(name);
  if (it == jobs_.end()) {
    return absl::NotFoundError(absl::StrCat("job \"", std::string(name), "\" does not exist"));
  }
  {
    JobEntry::Locked job = it->second->Lock();
    job.MarkDeleted();
    out->Append(std::move(job.completions()));
  }
  jobs_.erase(it);
  metrics_->SetJobCount(static_cast<int>(jobs_.size()));
  return absl::OkStatus();
}

void JobRegistry::Clear(const absl::Status& status, Completions* out) {
  absl::MutexLock lock(&mu_);
  for (auto& [name, entry] : jobs_) {
    JobEntry::Locked job = entry->Lock();
    job.DrainWaits(status);
    job.MarkDeleted();
    out->Append(std::move(job.completions()));
  }
  jobs_.clear();
  metrics_->SetJobCount(0);
}

std::vector<std::shared_ptr<JobEntry>> JobRegistry::All() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::shared_ptr<JobEntry>> all;
  all.reserve(jobs_.size());
  for (const auto& [name, entry] : jobs_) all.push_back(entry);
  return all;
}

core::WorkerId JobRegistry::NewWorkerId() {
  absl::MutexLock lock(&id_mu_);
  core::WorkerId id = 0;
  // Zero has probability 2^-64 per draw; the bound only keeps the loop finite.
  for (int attempt = 0; attempt < 8 && id == 0; ++attempt) {
    id = absl::Uniform<uint64_t>(id_gen_);
  }
  return id == 0 ? 1 : id;
}

}  // namespace ebsp::server
