#include "lib/core/job/membership.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/core/job/membership_fingerprint.h"
#include "lib/core/job/names.h"
#include "lib/core/string_view_compat.h"

namespace ebsp::core {

absl::Status Membership::CheckJoin(WorkerId id, std::string_view name) const {
  if (absl::Status s = ValidateWorkerName(ToAbsl(name)); !s.ok()) return s;
  if (auto it = workers_.find(id); it != workers_.end()) {
    return absl::AlreadyExistsError(absl::StrCat("worker id ", id,
                                                 " is already registered in job \"", job_name_,
                                                 "\" as \"", it->second.name, "\""));
  }
  if (auto it = ids_by_name_.find(std::string(name)); it != ids_by_name_.end()) {
    return absl::AlreadyExistsError(absl::StrCat("worker name \"", ToAbsl(name),
                                                 "\" is already live in job \"", job_name_,
                                                 "\" as worker ", it->second));
  }
  if (static_cast<int64_t>(workers_.size()) >= max_workers_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "job \"", job_name_, "\" already has ", workers_.size(), " live workers, its maximum"));
  }
  return absl::OkStatus();
}

WorkerRecord& Membership::Add(WorkerRecord worker) {
  const WorkerId id = worker.id;
  departures_.Forget(id);
  ids_by_name_.emplace(worker.name, id);
  fingerprint_ += NameFingerprint(worker.name);
  auto [it, inserted] = workers_.emplace(id, std::move(worker));
  ++epoch_;
  return it->second;
}

void Membership::KeepRequestId(WorkerRecord& worker, std::string request_id) {
  worker.register_request_id = std::move(request_id);
  ids_by_request_.emplace(worker.register_request_id, worker.id);
}

void Membership::Remove(WorkerId id, DepartureKind kind, std::string why) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  const WorkerRecord& w = it->second;
  ids_by_name_.erase(w.name);
  if (!w.register_request_id.empty()) ids_by_request_.erase(w.register_request_id);
  fingerprint_ -= NameFingerprint(w.name);
  departures_.Record(id, w.name, kind, std::move(why));
  workers_.erase(it);
  ++epoch_;
}

absl::StatusOr<WorkerRecord*> Membership::Find(WorkerId id) {
  auto it = workers_.find(id);
  if (it != workers_.end()) return &it->second;
  std::string why = departures_.Explain(id);
  if (why.empty()) {
    why = absl::StrCat("worker ", id, " is not registered in job \"", job_name_,
                       "\"; register again");
  }
  return absl::NotFoundError(why);
}

WorkerRecord* Membership::FindByRequestId(std::string_view request_id) {
  auto it = ids_by_request_.find(std::string(request_id));
  return it == ids_by_request_.end() ? nullptr : &workers_.at(it->second);
}

std::vector<std::string> Membership::LiveNames() const {
  std::vector<std::string> names;
  names.reserve(ids_by_name_.size());
  for (const auto& [name, id] : ids_by_name_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<WorkerId> Membership::Expired(absl::Time now) const {
  std::vector<WorkerId> expired;
  for (const auto& [id, w] : workers_) {
    if (w.last_seen + heartbeat_timeout_ < now) expired.push_back(id);
  }
  return expired;
}

std::optional<absl::Time> Membership::NextLeaseExpiry() const {
  std::optional<absl::Time> earliest;
  for (const auto& [id, w] : workers_) {
    const absl::Time expiry = w.last_seen + heartbeat_timeout_;
    if (!earliest.has_value() || expiry < *earliest) earliest = expiry;
  }
  return earliest;
}

absl::Duration Membership::LeaseRemaining(const WorkerRecord& worker, absl::Time now) const {
  return std::max(absl::ZeroDuration(), worker.last_seen + heartbeat_timeout_ - now);
}

}  // namespace ebsp::core
