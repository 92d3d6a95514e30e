// Job administration RPCs: CreateJob, GetJob, ListJobs, UpdatePolicy,
// DeleteJob.
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
  core::JobOptions job_options;
  job_options.policy = *policy;
  job_options.heartbeat_timeout =
      *heartbeat == absl::ZeroDuration() ? options_.heartbeat_timeout : *heartbeat;
  job_options.max_workers =
      spec.max_workers() == 0 ? options_.max_workers_per_job : static_cast<int>(spec.max_workers());
  absl::StatusOr<JobRegistry::Created> created = registry_.Create(
      spec.job(), std::move(job_options), spec.auth_token(), clock_->Now(), /*existing_ok=*/false);
  if (!created.ok()) return created.status();
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
  Completions completions;  // Parked calls end with NOT_FOUND, after unlocking.
  absl::Status deleted = registry_.Delete(request.job(), &completions);
  if (deleted.ok()) {
    log::Event(log::Level::kInfo, "job_deleted",
               {{"job", request.job()}, {"parked_calls_ended", completions.size()}});
  }
  return deleted;
}

}  // namespace ebsp::server
