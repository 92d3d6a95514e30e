// Job administration RPCs: CreateJob, GetJob, ListJobs, UpdatePolicy,
// DeleteJob; and what of the jobs the store keeps across restarts.
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/log/log.h"
#include "service/auth/caller.h"
#include "service/coordinator_service.h"
#include "service/proto_convert.h"
#include "service/validation.h"

namespace ebsp::server {
namespace {

// Tokens are opaque secrets, but a megabyte one is a mistake.
constexpr size_t kMaxAuthTokenLength = 1024;

}  // namespace

absl::Status CoordinatorService::Describe(JobEntry& entry, v1::Job* job) {
  JobEntry::Locked locked = entry.Lock();
  if (absl::Status s = locked.status(); !s.ok()) return s;
  const absl::Time now = clock_->Now();
  JobToProto(locked.state().Snapshot(now), now, job);
  return absl::OkStatus();
}

absl::Status CoordinatorService::AuthorizeJobAdmin(const grpc::CallbackServerContext* ctx,
                                                   absl::string_view method,
                                                   absl::string_view job) const {
  if (absl::Status s = ValidateJobName(job); !s.ok()) return s;
  // A caller that may not administer the job learns that, not whether the
  // job exists (unless it is an admin).
  absl::StatusOr<std::shared_ptr<JobEntry>> entry = registry_.Find(job);
  return authorizer_.AuthorizeJob(auth::CallerOf(*ctx), method, job,
                                  entry.ok() ? &(*entry)->token_hash() : nullptr);
}

grpc::ServerUnaryReactor* CoordinatorService::CreateJob(grpc::CallbackServerContext* ctx,
                                                        const v1::CreateJobRequest* request,
                                                        v1::Job* response) {
  return Serve(ctx, RpcMethod::kCreateJob, [&]() -> absl::Status {
    const v1::JobSpec& spec = request->spec();
    if (absl::Status s = ValidateJobName(spec.job()); !s.ok()) return s;
    if (absl::Status s =
            authorizer_.AuthorizeCreate(auth::CallerOf(*ctx), spec.job(), spec.auth_token());
        !s.ok()) {
      return s;
    }
    return HandleCreateJob(*request, response);
  });
}

absl::Status CoordinatorService::HandleCreateJob(const v1::CreateJobRequest& request,
                                                 v1::Job* response) {
  const v1::JobSpec& spec = request.spec();
  if (absl::Status s = ValidateJobName(spec.job()); !s.ok()) return s;
  absl::StatusOr<core::PolicyConfig> policy =
      PolicyFromProto(spec.policy(), options_.default_policy);
  if (!policy.ok()) return policy.status();
  absl::StatusOr<absl::Duration> heartbeat =
      ValidateSeconds("spec.heartbeat_timeout_seconds", spec.heartbeat_timeout_seconds());
  if (!heartbeat.ok()) return heartbeat.status();
  if (*heartbeat > kMaxHeartbeatTimeout) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.heartbeat_timeout_seconds ", spec.heartbeat_timeout_seconds(), " exceeds 3600"));
  }
  if (spec.max_workers() > static_cast<uint32_t>(options_.max_workers_per_job)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.max_workers ", spec.max_workers(), " exceeds this coordinator's limit of ",
        options_.max_workers_per_job, " (--max_workers_per_job)"));
  }
  if (spec.auth_token().size() > kMaxAuthTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat("spec.auth_token has ", spec.auth_token().size(),
                                                   " bytes, at most ", kMaxAuthTokenLength));
  }
  if (absl::Status s = ValidateRequestId(request.request_id()); !s.ok()) return s;
  core::JobOptions job_options;
  job_options.policy = *policy;
  job_options.heartbeat_timeout =
      *heartbeat == absl::ZeroDuration() ? options_.heartbeat_timeout : *heartbeat;
  job_options.max_workers =
      spec.max_workers() == 0 ? options_.max_workers_per_job : static_cast<int>(spec.max_workers());
  JobOrigin origin;
  origin.token = auth::TokenHash::Of(spec.auth_token());
  origin.create_request_id = request.request_id();
  absl::StatusOr<JobRegistry::Created> created = registry_.Create(
      spec.job(), std::move(job_options), std::move(origin), clock_->Now(), /*existing_ok=*/false);
  if (!created.ok()) {
    // A retry of the CreateJob that made the job (same request_id, same
    // token) is answered with the job as it is now.
    if (created.status().code() != absl::StatusCode::kAlreadyExists ||
        request.request_id().empty()) {
      return created.status();
    }
    absl::StatusOr<std::shared_ptr<JobEntry>> existing = registry_.Find(spec.job());
    if (!existing.ok() || (*existing)->origin().create_request_id != request.request_id() ||
        !(*existing)->TokenMatches(spec.auth_token())) {
      return created.status();
    }
    return Describe(**existing, response);
  }
  if (absl::Status s = PersistNow(*created->entry); !s.ok()) {
    // Not stored, not created: the call fails and changes nothing.
    Completions ignored;  // A job just created has no parked calls.
    registry_.Delete(spec.job(), &ignored).IgnoreError();
    return absl::UnavailableError(
        absl::StrCat("cannot store job \"", spec.job(), "\": ", s.message()));
  }
  log::Event(log::Level::kInfo, "job_created",
             {{"job", spec.job()},
              {"by", "CreateJob"},
              {"policy", policy->ToString()},
              {"heartbeat_timeout_s", absl::ToDoubleSeconds(created->entry->heartbeat_timeout())},
              {"auth_token", spec.auth_token().empty() ? "none" : "set"}});
  return Describe(*created->entry, response);
}

grpc::ServerUnaryReactor* CoordinatorService::GetJob(grpc::CallbackServerContext* ctx,
                                                     const v1::GetJobRequest* request,
                                                     v1::Job* response) {
  return Serve(ctx, RpcMethod::kGetJob, [&] { return HandleGetJob(*request, response); });
}

absl::Status CoordinatorService::HandleGetJob(const v1::GetJobRequest& request, v1::Job* response) {
  absl::StatusOr<std::shared_ptr<JobEntry>> entry = FindJob(request.job());
  if (!entry.ok()) return entry.status();
  return Describe(**entry, response);
}

grpc::ServerUnaryReactor* CoordinatorService::ListJobs(grpc::CallbackServerContext* ctx,
                                                       const v1::ListJobsRequest* request,
                                                       v1::ListJobsResponse* response) {
  return Serve(ctx, RpcMethod::kListJobs, [&] { return HandleListJobs(response); });
}

absl::Status CoordinatorService::HandleListJobs(v1::ListJobsResponse* response) {
  for (const std::shared_ptr<JobEntry>& entry : registry_.All()) {
    v1::Job job;
    // A job deleted since All() is simply not listed.
    if (Describe(*entry, &job).ok()) *response->add_jobs() = std::move(job);
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CoordinatorService::UpdatePolicy(grpc::CallbackServerContext* ctx,
                                                           const v1::UpdatePolicyRequest* request,
                                                           v1::Job* response) {
  return Serve(ctx, RpcMethod::kUpdatePolicy, [&]() -> absl::Status {
    if (absl::Status s = AuthorizeJobAdmin(ctx, "UpdatePolicy", request->job()); !s.ok()) {
      return s;
    }
    return HandleUpdatePolicy(*request, response);
  });
}

absl::Status CoordinatorService::HandleUpdatePolicy(const v1::UpdatePolicyRequest& request,
                                                    v1::Job* response) {
  if (absl::Status s = ValidateJobName(request.job()); !s.ok()) return s;
  absl::StatusOr<core::PolicyConfig> policy =
      PolicyFromProto(request.policy(), options_.default_policy);
  if (!policy.ok()) return policy.status();
  absl::StatusOr<std::shared_ptr<JobEntry>> entry = registry_.Find(request.job());
  if (!entry.ok()) return entry.status();
  {
    JobEntry::Locked job = (*entry)->Lock();
    if (absl::Status s = job.status(); !s.ok()) return s;
    if (absl::Status s = job.state().UpdatePolicy(*policy, clock_->Now()); !s.ok()) return s;
    job.NotePolicyRequested(*policy);
  }
  if (absl::Status s = PersistNow(**entry); !s.ok()) {
    // Applied, but a restart would bring back the old policy; the roster
    // writes retry it.
    log::Event(log::Level::kError, "job_store_write_failed",
               {{"job", request.job()}, {"what", "policy"}, {"error", s.message()}});
    (*entry)->Lock().MarkRosterDirty();
  }
  return Describe(**entry, response);
}

grpc::ServerUnaryReactor* CoordinatorService::DeleteJob(grpc::CallbackServerContext* ctx,
                                                        const v1::DeleteJobRequest* request,
                                                        v1::DeleteJobResponse* response) {
  return Serve(ctx, RpcMethod::kDeleteJob, [&]() -> absl::Status {
    if (absl::Status s = AuthorizeJobAdmin(ctx, "DeleteJob", request->job()); !s.ok()) return s;
    return HandleDeleteJob(*request);
  });
}

absl::Status CoordinatorService::HandleDeleteJob(const v1::DeleteJobRequest& request) {
  if (absl::Status s = ValidateJobName(request.job()); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<JobEntry>> entry = registry_.Find(request.job());
  if (!entry.ok()) return entry.status();
  // The record goes first: a job deleted in memory but still stored would
  // come back at the next restart. Not unstored, not deleted.
  if (store_ != nullptr) {
    if (absl::Status s = (*entry)->Unpersist(*store_); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot delete the stored job \"", request.job(),
                                                 "\": ", s.message(), "; the job is kept"));
    }
  }
  Completions completions;  // Parked calls end with NOT_FOUND, after unlocking.
  if (absl::Status s = registry_.Delete(request.job(), &completions); !s.ok()) return s;
  log::Event(log::Level::kInfo, "job_deleted",
             {{"job", request.job()}, {"parked_calls_ended", completions.size()}});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The job store

absl::Status CoordinatorService::PersistNow(JobEntry& entry) {
  if (store_ == nullptr) return absl::OkStatus();
  NumberedRecord record;
  {
    JobEntry::Locked job = entry.Lock();
    if (!job.status().ok()) return absl::OkStatus();  // Deleted meanwhile.
    record = job.Record(clock_->Now());
  }
  return entry.Persist(*store_, record);
}

void CoordinatorService::PersistRosterIfDue(JobEntry& entry, bool force) {
  if (store_ == nullptr) return;
  std::optional<NumberedRecord> record;
  {
    JobEntry::Locked job = entry.Lock();
    if (!job.status().ok()) return;
    record = job.TakeRosterIfDue(clock_->Now(),
                                 force ? absl::ZeroDuration() : options_.roster_write_interval);
  }
  if (!record.has_value()) return;
  if (absl::Status s = entry.Persist(*store_, *record); !s.ok()) {
    log::Event(log::Level::kError, "job_store_write_failed",
               {{"job", entry.name()}, {"what", "roster"}, {"error", s.message()}});
    entry.Lock().MarkRosterDirty();
  }
}

absl::Status CoordinatorService::LoadStoredJobs() {
  if (store_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::vector<JobRecord>> records = store_->LoadAll();
  absl::Status restored = records.ok() ? RestoreJobs(*records) : records.status();
  // Half of the jobs would be worse than none: the caller refuses to serve.
  if (!restored.ok()) DropAllJobs();
  return restored;
}

absl::Status CoordinatorService::RestoreJobs(const std::vector<JobRecord>& records) {
  for (const JobRecord& record : records) {
    const std::string where = absl::StrCat("stored job \"", record.job(), "\": ");
    absl::StatusOr<core::PolicyConfig> policy =
        PolicyFromProto(record.policy(), options_.default_policy);
    if (!policy.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(where, policy.status().message()));
    }
    absl::StatusOr<absl::Duration> heartbeat =
        ValidateSeconds("heartbeat_timeout_seconds", record.heartbeat_timeout_seconds());
    if (!heartbeat.ok() || *heartbeat <= absl::ZeroDuration() ||
        *heartbeat > kMaxHeartbeatTimeout) {
      return absl::FailedPreconditionError(absl::StrCat(where, "heartbeat_timeout_seconds ",
                                                        record.heartbeat_timeout_seconds(),
                                                        " is not in (0, 3600]"));
    }
    absl::StatusOr<auth::TokenHash> token = auth::TokenHash::FromHex(record.auth_token_sha256());
    if (!token.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(where, token.status().message()));
    }
    core::JobOptions job_options;
    job_options.policy = *policy;
    job_options.heartbeat_timeout = *heartbeat;
    job_options.max_workers = record.max_workers() == 0 ? options_.max_workers_per_job
                                                        : static_cast<int>(record.max_workers());
    JobOrigin origin;
    origin.token = *token;
    origin.auto_created = record.auto_created();
    origin.create_request_id = record.create_request_id();
    const absl::Time now = clock_->Now();
    absl::StatusOr<JobRegistry::Created> created = registry_.Create(
        record.job(), std::move(job_options), std::move(origin), now, /*existing_ok=*/false);
    if (!created.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(where, created.status().message()));
    }
    const std::vector<std::string> roster(record.roster().begin(), record.roster().end());
    created->entry->Lock().state().ExpectMembers(roster, now + options_.restart_grace);
    log::Event(log::Level::kInfo, "job_restored",
               {{"job", record.job()},
                {"awaited_workers", static_cast<int>(roster.size())},
                {"hold", options_.restart_grace}});
  }
  return absl::OkStatus();
}

}  // namespace ebsp::server
