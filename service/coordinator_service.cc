// Worker RPCs (Register, reports, waits, heartbeats, Leave) and the ticker
// pass. Job administration lives in coordinator_service_jobs.cc.
#include "service/coordinator_service.h"

#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/log/log.h"
#include "service/auth/caller.h"
#include "service/proto_convert.h"
#include "service/status_mapping.h"
#include "service/validation.h"

namespace ebsp::server {

// A Barrier or WaitForClock call: parked in its job until finished by
// whoever unparks it (see waiting_call.h). Deletes itself in OnDone.
class CoordinatorService::WaitReactor final : public grpc::ServerUnaryReactor, public WaitingCall {
 public:
  WaitReactor(CoordinatorService* service, std::shared_ptr<JobEntry> entry, core::WorkerId worker,
              core::WaitKind kind, absl::Time started, v1::BarrierResponse* barrier_response,
              v1::WaitForClockResponse* clock_response)
      : WaitingCall(worker, kind, started),
        service_(service),
        entry_(std::move(entry)),
        barrier_response_(barrier_response),
        clock_response_(clock_response) {}

  void Complete(const WaitOutcome& outcome) override {
    if (outcome.status.ok()) {
      const double waited = ToSeconds(outcome.release.waited);
      if (barrier_response_ != nullptr) {
        barrier_response_->set_round(outcome.release.round);
        barrier_response_->set_target(static_cast<uint32_t>(outcome.release.target));
        barrier_response_->set_membership_epoch(outcome.membership_epoch);
        barrier_response_->set_membership_fingerprint(outcome.membership_fingerprint);
        barrier_response_->set_live_workers(static_cast<uint32_t>(outcome.live_workers));
        barrier_response_->set_waited_seconds(waited);
      } else {
        clock_response_->set_slowest_clock(outcome.release.slowest_clock);
        clock_response_->set_own_clock(outcome.release.own_clock);
        clock_response_->set_waited_seconds(waited);
      }
    }
    const grpc::Status status = ToGrpcStatus(outcome.status);
    service_->metrics().RecordRpc(
        kind() == core::WaitKind::kBarrier ? RpcMethod::kBarrier : RpcMethod::kWaitForClock,
        status.error_code(), service_->clock().Now() - started());
    Finish(status);
  }

  // The client went away or its deadline passed. The core keeps the
  // arrival, so a retried Barrier is accepted.
  void OnCancel() override {
    JobEntry::Locked job = entry_->Lock();
    if (job.Unpark(this)) {
      job.completions().Add(this, WaitOutcome::Failed(absl::CancelledError(
                                      "wait cancelled by the client or its deadline; the arrival "
                                      "still counts: call again to keep waiting")));
    }
  }

  void OnDone() override { delete this; }

 private:
  CoordinatorService* const service_;
  const std::shared_ptr<JobEntry> entry_;
  v1::BarrierResponse* const barrier_response_;
  v1::WaitForClockResponse* const clock_response_;
};

// StreamReports: one response per request, in order: the next read starts
// only after the previous response is written. The service tracks open
// streams so that shutdown ends them with UNAVAILABLE at once instead of
// gRPC cancelling them when the grace period runs out.
class CoordinatorService::StreamReactor final
    : public grpc::ServerBidiReactor<v1::ReportIterationRequest, v1::ReportIterationResponse> {
 public:
  StreamReactor(CoordinatorService* service, grpc::CallbackServerContext* ctx)
      : service_(service), ctx_(ctx), started_(service->clock().Now()) {
    // Not under mu_: shutdown takes the service's stream lock before mu_.
    const bool tracked = service_->TrackStream(this);
    absl::MutexLock lock(&mu_);
    if (finished_) return;  // Shutdown stopped it right after tracking.
    if (tracked) {
      StartRead(&request_);
    } else {
      End(Unavailable());
    }
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;  // Ended by shutdown while the read was pending.
    if (!ok) {
      End(absl::OkStatus());  // The client half-closed.
      return;
    }
    response_.Clear();
    if (!service_->AdmitPeer(ctx_)) {
      End(service_->RateLimited());
      return;
    }
    if (bound_job_.empty()) {
      // Counted under the job its first report names.
      if (!service_->BindStream(request_.job())) {
        End(absl::ResourceExhaustedError(absl::StrCat(
            "job \"", request_.job(),
            "\" has the most open StreamReports streams allowed "
            "(--max_streams_per_job); report on an existing stream or with ReportIteration")));
        return;
      }
      bound_job_ = request_.job();
    }
    absl::Status status = service_->HandleReport(request_, &response_);
    if (!status.ok()) {
      End(status);
      return;
    }
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (!ok) {
      End(absl::CancelledError("stream write failed"));
      return;
    }
    StartRead(&request_);
  }

  // Ends the stream with `status` unless it has ended already.
  void Stop(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (!finished_) End(status);
  }

  void OnDone() override {
    if (!bound_job_.empty()) service_->UnbindStream(bound_job_);
    service_->ForgetStream(this);
    delete this;
  }

 private:
  void End(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    const grpc::Status rpc_status = ToGrpcStatus(status);
    service_->metrics().RecordRpc(RpcMethod::kStreamReports, rpc_status.error_code(),
                                  service_->clock().Now() - started_);
    if (std::optional<std::string> leader = LeaderHint(status)) {
      ctx_->AddTrailingMetadata(kLeaderMetadataKey, *leader);
    }
    Finish(rpc_status);
  }

  CoordinatorService* const service_;
  grpc::CallbackServerContext* const ctx_;
  const absl::Time started_;
  // The job this stream is counted under (BindStream), from its first
  // report; read in OnDone after the last reaction.
  std::string bound_job_;
  // Serializes the reactions with Stop from the shutting-down thread.
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  v1::ReportIterationRequest request_ ABSL_GUARDED_BY(mu_);
  v1::ReportIterationResponse response_ ABSL_GUARDED_BY(mu_);
};

CoordinatorService::CoordinatorService(const ServerOptions& options, const Clock* clock,
                                       Metrics* metrics, auth::AdminAuthorizer authorizer,
                                       JobStore* store)
    : options_(options),
      clock_(clock),
      metrics_(metrics),
      store_(store),
      registry_(metrics, options.max_jobs),
      authorizer_(std::move(authorizer)),
      rate_limiter_(options.peer_rate) {}

bool CoordinatorService::AdmitPeer(const grpc::CallbackServerContext* ctx) {
  if (ctx == nullptr || !rate_limiter_.enabled()) return true;
  if (rate_limiter_.Admit(ctx->peer(), clock_->Now())) return true;
  metrics_->RecordLimited(Limit::kPeerRate);
  return false;
}

absl::Status CoordinatorService::RateLimited() const {
  return absl::ResourceExhaustedError(
      absl::StrCat("this connection sent more than ", options_.peer_rate.requests_per_second,
                   " requests per second (burst ", options_.peer_rate.burst,
                   "; --peer_rate_limit): slow down and retry after a backoff"));
}

bool CoordinatorService::BindStream(const std::string& job) {
  const int cap = options_.max_streams_per_job > 0 ? options_.max_streams_per_job
                                                   : options_.max_workers_per_job;
  absl::MutexLock lock(&stream_counts_mu_);
  int& open = streams_per_job_[job];
  if (open >= cap) {
    if (open == 0) streams_per_job_.erase(job);
    metrics_->RecordLimited(Limit::kJobStreams);
    return false;
  }
  ++open;
  return true;
}

void CoordinatorService::UnbindStream(const std::string& job) {
  absl::MutexLock lock(&stream_counts_mu_);
  auto it = streams_per_job_.find(job);
  if (it != streams_per_job_.end() && --it->second <= 0) streams_per_job_.erase(it);
}

CoordinatorService::~CoordinatorService() = default;

grpc::ServerUnaryReactor* CoordinatorService::FinishNow(grpc::CallbackServerContext* ctx,
                                                        RpcMethod method, absl::Time start,
                                                        const absl::Status& status) {
  const grpc::Status rpc_status = ToGrpcStatus(status);
  metrics_->RecordRpc(method, rpc_status.error_code(), clock_->Now() - start);
  if (std::optional<std::string> leader = LeaderHint(status)) {
    ctx->AddTrailingMetadata(kLeaderMetadataKey, *leader);
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(rpc_status);
  return reactor;
}

bool CoordinatorService::ShuttingDown() const { return shutting_down_.load(); }

absl::Status CoordinatorService::Admission() const {
  if (ShuttingDown()) return Unavailable();
  if (!options_.ha.enabled()) return absl::OkStatus();
  const Leadership* leadership = leadership_.load(std::memory_order_acquire);
  if (leadership != nullptr && leadership->IsLeader()) return absl::OkStatus();
  return NotLeaderError(leadership != nullptr ? leadership->LeaderAddress() : "");
}

void CoordinatorService::SetLeadership(const Leadership* leadership) {
  leadership_.store(leadership, std::memory_order_release);
}

void CoordinatorService::DropAllJobs() {
  Completions completions;  // Finished after every lock is released.
  registry_.Clear(NotLeaderError(""), &completions);
}

absl::Status CoordinatorService::Unavailable() {
  return absl::UnavailableError(
      "coordinator is shutting down; retry after a backoff and "
      "register again with the next one");
}

absl::StatusOr<std::shared_ptr<JobEntry>> CoordinatorService::FindJob(absl::string_view job) const {
  if (absl::Status valid = ValidateJobName(job); !valid.ok()) return valid;
  return registry_.Find(job);
}

absl::StatusOr<std::shared_ptr<JobEntry>> CoordinatorService::FindWorkerJob(
    absl::string_view job, uint64_t worker_id) const {
  if (absl::Status valid = ValidateWorkerId(worker_id); !valid.ok()) return valid;
  return FindJob(job);
}

void CoordinatorService::ApplyEvent(JobEntry::Locked& job, const core::Effects& effects,
                                    absl::Time now) {
  // Only an event that ran ZipLine is timed: a clock read per report would
  // cost more than the report.
  const absl::Duration event_time = effects.planned ? clock_->Now() - now : absl::ZeroDuration();
  job.ApplyEffects(effects, event_time);
}

bool CoordinatorService::TrackStream(StreamReactor* stream) {
  absl::MutexLock lock(&streams_mu_);
  if (shutting_down_.load()) return false;
  streams_.insert(stream);
  return true;
}

void CoordinatorService::ForgetStream(StreamReactor* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.erase(stream);
}

// ---------------------------------------------------------------------------
// Register

grpc::ServerUnaryReactor* CoordinatorService::Register(grpc::CallbackServerContext* ctx,
                                                       const v1::RegisterRequest* request,
                                                       v1::RegisterResponse* response) {
  return Serve(ctx, RpcMethod::kRegister, [&]() -> absl::Status {
    // A Register that would create its job needs what CreateJob needs, or a
    // job token in the request (the new job's token).
    if (options_.auto_create_jobs && ValidateJobName(request->job()).ok() &&
        !registry_.Find(request->job()).ok()) {
      if (absl::Status s = authorizer_.AuthorizeAutoCreate(auth::CallerOf(*ctx), request->job(),
                                                           request->auth_token());
          !s.ok()) {
        return s;
      }
    }
    return HandleRegister(*request, response);
  });
}

absl::Status CoordinatorService::HandleRegister(const v1::RegisterRequest& request,
                                                v1::RegisterResponse* response) {
  if (absl::Status s = ValidateJobName(request.job()); !s.ok()) return s;
  if (absl::Status s = ValidateWorkerName(request.worker_name()); !s.ok()) return s;
  if (absl::Status s = ValidateRequestId(request.request_id()); !s.ok()) return s;
  // Checked even when the job exists: a malformed request fails either way.
  absl::StatusOr<core::PolicyConfig> policy =
      PolicyFromProto(request.policy_if_created(), options_.default_policy);
  if (!policy.ok()) return policy.status();

  std::shared_ptr<JobEntry> entry;
  if (options_.auto_create_jobs) {
    core::JobOptions job_options;
    job_options.policy = *policy;
    job_options.heartbeat_timeout = options_.heartbeat_timeout;
    job_options.max_workers = options_.max_workers_per_job;
    // An auto-created job adopts the first registrant's token (its hash is
    // stored), so a restarted coordinator keeps refusing workers without it.
    JobOrigin origin;
    origin.token = auth::TokenHash::Of(request.auth_token());
    origin.auto_created = true;
    absl::StatusOr<JobRegistry::Created> created =
        registry_.Create(request.job(), std::move(job_options), std::move(origin), clock_->Now(),
                         /*existing_ok=*/true);
    if (!created.ok()) return created.status();
    if (created->created) {
      log::Event(log::Level::kInfo, "job_created",
                 {{"job", request.job()},
                  {"by", "Register"},
                  {"worker", request.worker_name()},
                  {"policy", policy->ToString()},
                  {"heartbeat_timeout_s", absl::ToDoubleSeconds(options_.heartbeat_timeout)},
                  {"auth_token", request.auth_token().empty() ? "none" : "set"}});
    }
    entry = std::move(created->entry);
    if (created->created) {
      if (absl::Status s = PersistNow(*entry); !s.ok()) {
        Completions ignored;  // A job just created has no parked calls.
        registry_.Delete(request.job(), &ignored).IgnoreError();
        return absl::UnavailableError(
            absl::StrCat("cannot store the new job \"", request.job(), "\": ", s.message()));
      }
    }
  } else {
    absl::StatusOr<std::shared_ptr<JobEntry>> found = registry_.Find(request.job());
    if (!found.ok()) {
      return absl::NotFoundError(
          absl::StrCat(found.status().message(), " (--auto_create_jobs is off: CreateJob first)"));
    }
    entry = *std::move(found);
  }
  if (!entry->TokenMatches(request.auth_token())) {
    return absl::PermissionDeniedError(
        request.auth_token().empty()
            ? absl::StrCat("job \"", entry->name(), "\" requires an auth token")
            : absl::StrCat("wrong auth token for job \"", entry->name(), "\""));
  }

  JobEntry::Locked job = entry->Lock();
  if (absl::Status s = job.status(); !s.ok()) return s;
  core::JobState& state = job.state();
  core::WorkerId id = registry_.NewWorkerId();
  // A collision within the job is astronomically unlikely; bounded anyway.
  for (int attempt = 0; attempt < 4 && state.IsMember(id); ++attempt) {
    id = registry_.NewWorkerId();
  }
  const absl::Time now = clock_->Now();
  absl::StatusOr<core::RegisterResult> result =
      state.Register(id, request.worker_name(), request.request_id(), now);
  if (!result.ok()) return result.status();
  if (!result->retry) {  // A retry is answered as the first time, nothing else.
    job.OnRegistered(*result);
    ApplyEvent(job, result->effects, now);
    log::Event(log::Level::kInfo, "worker_joined",
               {{"job", job.name()},
                {"worker", request.worker_name()},
                {"worker_id", result->worker},
                {"state", result->phase == core::WorkerPhase::kPending ? "pending" : "running"},
                {"round", result->round},
                {"live_workers", result->live_workers},
                {"membership_epoch", result->membership_epoch}});
  }

  response->set_worker_id(result->worker);
  response->set_round(result->round);
  response->set_target(static_cast<uint32_t>(result->target));
  response->set_state(WorkerStateToProto(result->phase));
  *response->mutable_policy() = PolicyToProto(state.policy());
  response->set_heartbeat_timeout_seconds(ToSeconds(entry->heartbeat_timeout()));
  response->set_barrier_deadline_seconds(ToSeconds(options_.barrier_deadline));
  response->set_membership_epoch(result->membership_epoch);
  response->set_membership_fingerprint(result->membership_fingerprint);
  response->set_live_workers(static_cast<uint32_t>(result->live_workers));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Reports: the hot path. One registry read lock, one job lock, no logging.

grpc::ServerUnaryReactor* CoordinatorService::ReportIteration(
    grpc::CallbackServerContext* ctx, const v1::ReportIterationRequest* request,
    v1::ReportIterationResponse* response) {
  return Serve(ctx, RpcMethod::kReportIteration, [&] { return HandleReport(*request, response); });
}

grpc::ServerBidiReactor<v1::ReportIterationRequest, v1::ReportIterationResponse>*
CoordinatorService::StreamReports(grpc::CallbackServerContext* ctx) {
  return new StreamReactor(this, ctx);
}

absl::Status CoordinatorService::HandleReport(const v1::ReportIterationRequest& request,
                                              v1::ReportIterationResponse* response) {
  if (absl::Status s = ValidateWorkerId(request.worker_id()); !s.ok()) return s;
  if (request.iteration() == 0) {
    return absl::InvalidArgumentError("iteration is 0; iterations are 1-based");
  }
  if (request.iteration() > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("iteration ", request.iteration(), " is out of range"));
  }
  absl::StatusOr<absl::Duration> compute =
      ValidateSeconds("compute_seconds", request.compute_seconds());
  if (!compute.ok()) return compute.status();
  // Checked here rather than in Serve, so that open streams answer it too.
  if (absl::Status admitted = Admission(); !admitted.ok()) return admitted;
  absl::StatusOr<std::shared_ptr<JobEntry>> entry = FindJob(request.job());
  if (!entry.ok()) return entry.status();

  JobEntry::Locked job = (*entry)->Lock();
  if (absl::Status s = job.status(); !s.ok()) return s;
  const absl::Time now = clock_->Now();
  absl::StatusOr<core::ReportResult> result = job.state().ReportIteration(
      request.worker_id(), request.round(), static_cast<int>(request.iteration()), *compute, now);
  if (!result.ok()) return result.status();
  if (!result->retry) {  // A retry is counted once: no metrics, no effects.
    job.OnReported(request.worker_id(), result->target, *compute);
    ApplyEvent(job, result->effects, now);
  }
  response->set_directive(DirectiveToProto(result->action));
  response->set_target(static_cast<uint32_t>(result->target));
  response->set_round(result->round);
  response->set_membership_epoch(job.state().membership_epoch());
  response->set_membership_fingerprint(job.state().membership_fingerprint());
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Waits

grpc::ServerUnaryReactor* CoordinatorService::Barrier(grpc::CallbackServerContext* ctx,
                                                      const v1::BarrierRequest* request,
                                                      v1::BarrierResponse* response) {
  return StartWait(ctx, core::WaitKind::kBarrier, request->job(), request->worker_id(),
                   request->round(), response, nullptr);
}

grpc::ServerUnaryReactor* CoordinatorService::WaitForClock(grpc::CallbackServerContext* ctx,
                                                           const v1::WaitForClockRequest* request,
                                                           v1::WaitForClockResponse* response) {
  return StartWait(ctx, core::WaitKind::kClock, request->job(), request->worker_id(),
                   /*round=*/0, nullptr, response);
}

grpc::ServerUnaryReactor* CoordinatorService::StartWait(grpc::CallbackServerContext* ctx,
                                                        core::WaitKind kind,
                                                        absl::string_view job_name, uint64_t worker,
                                                        uint64_t round,
                                                        v1::BarrierResponse* barrier_response,
                                                        v1::WaitForClockResponse* clock_response) {
  const absl::Time start = clock_->Now();
  const RpcMethod method =
      kind == core::WaitKind::kBarrier ? RpcMethod::kBarrier : RpcMethod::kWaitForClock;
  if (absl::Status admitted = Admission(); !admitted.ok()) {
    return FinishNow(ctx, method, start, admitted);
  }
  if (!AdmitPeer(ctx)) return FinishNow(ctx, method, start, RateLimited());
  absl::StatusOr<std::shared_ptr<JobEntry>> entry = FindWorkerJob(job_name, worker);
  if (!entry.ok()) return FinishNow(ctx, method, start, entry.status());
  auto* reactor =
      new WaitReactor(this, *entry, worker, kind, start, barrier_response, clock_response);
  WaitIn(**entry, kind, worker, round, reactor, ctx);
  return reactor;
}

void CoordinatorService::HandleWait(core::WaitKind kind, absl::string_view job_name,
                                    uint64_t worker, uint64_t round, WaitingCall* call,
                                    grpc::CallbackServerContext* ctx) {
  absl::StatusOr<std::shared_ptr<JobEntry>> entry = FindWorkerJob(job_name, worker);
  if (!entry.ok()) {
    Completions completions;
    completions.Add(call, WaitOutcome::Failed(entry.status()));
    return;
  }
  WaitIn(**entry, kind, worker, round, call, ctx);
}

void CoordinatorService::WaitIn(JobEntry& entry, core::WaitKind kind, core::WorkerId worker,
                                uint64_t round, WaitingCall* call,
                                grpc::CallbackServerContext* ctx) {
  JobEntry::Locked job = entry.Lock();
  Completions& out = job.completions();
  if (absl::Status s = job.status(); !s.ok()) return out.Add(call, WaitOutcome::Failed(s));
  // Checked under the job lock: BeginShutdown drains each job under it, so a
  // call parked after that drain would wait for the grace period.
  if (absl::Status admitted = Admission(); !admitted.ok()) {
    return out.Add(call, WaitOutcome::Failed(admitted));
  }
  const absl::Time now = clock_->Now();
  absl::StatusOr<core::Effects> effects = kind == core::WaitKind::kBarrier
                                              ? job.state().ArriveAtBarrier(worker, round, now)
                                              : job.state().WaitForClock(worker, now);
  if (!effects.ok()) return out.Add(call, WaitOutcome::Failed(effects.status()));
  job.Park(call);
  ApplyEvent(job, *effects, now);
  // A cancellation that came before the park found nothing to unpark.
  if (ctx != nullptr && ctx->IsCancelled() && job.Unpark(call)) {
    out.Add(call, WaitOutcome::Failed(absl::CancelledError("cancelled by the client")));
  }
}

// ---------------------------------------------------------------------------
// Heartbeat, Leave

grpc::ServerUnaryReactor* CoordinatorService::Heartbeat(grpc::CallbackServerContext* ctx,
                                                        const v1::HeartbeatRequest* request,
                                                        v1::HeartbeatResponse* response) {
  return Serve(ctx, RpcMethod::kHeartbeat, [&] { return HandleHeartbeat(*request, response); });
}

absl::Status CoordinatorService::HandleHeartbeat(const v1::HeartbeatRequest& request,
                                                 v1::HeartbeatResponse* response) {
  absl::StatusOr<std::shared_ptr<JobEntry>> entry =
      FindWorkerJob(request.job(), request.worker_id());
  if (!entry.ok()) return entry.status();
  JobEntry::Locked job = (*entry)->Lock();
  if (absl::Status s = job.status(); !s.ok()) return s;
  absl::StatusOr<core::HeartbeatResult> result =
      job.state().Heartbeat(request.worker_id(), clock_->Now());
  if (!result.ok()) return result.status();
  response->set_round(result->round);
  response->set_membership_epoch(result->membership_epoch);
  response->set_membership_fingerprint(result->membership_fingerprint);
  response->set_lease_remaining_seconds(ToSeconds(result->lease_remaining));
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CoordinatorService::Leave(grpc::CallbackServerContext* ctx,
                                                    const v1::LeaveRequest* request,
                                                    v1::LeaveResponse* response) {
  return Serve(ctx, RpcMethod::kLeave, [&] { return HandleLeave(*request); });
}

absl::Status CoordinatorService::HandleLeave(const v1::LeaveRequest& request) {
  absl::StatusOr<std::shared_ptr<JobEntry>> entry =
      FindWorkerJob(request.job(), request.worker_id());
  if (!entry.ok()) return entry.status();
  JobEntry::Locked job = (*entry)->Lock();
  if (absl::Status s = job.status(); !s.ok()) return s;
  const absl::Time now = clock_->Now();
  // Empty for a retry of a Leave that was applied (nothing to log then).
  const std::string name = job.state().WorkerName(request.worker_id());
  absl::StatusOr<core::Effects> effects = job.state().Leave(request.worker_id(), now);
  if (!effects.ok()) return effects.status();
  if (!name.empty()) {
    log::Event(log::Level::kInfo, "worker_left",
               {{"job", job.name()},
                {"worker", name},
                {"worker_id", request.worker_id()},
                {"live_workers", job.state().live_workers()}});
  }
  job.OnLeft(request.worker_id());
  ApplyEvent(job, *effects, now);
  // A wait of the leaving worker (from another thread of the same client)
  // cannot be released any more.
  job.FailParked(request.worker_id(),
                 absl::NotFoundError(absl::StrCat("worker ", request.worker_id(), " left job \"",
                                                  job.name(), "\"")));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Ticker pass and shutdown

void CoordinatorService::Tick() {
  // Gauges that need a full snapshot are refreshed about once a second.
  const int refresh_every = std::max<int>(
      1,
      static_cast<int>(absl::Seconds(1) / std::max(options_.tick_interval, absl::Milliseconds(1))));
  const bool refresh = (tick_count_++ % refresh_every) == 0;
  if (refresh) rate_limiter_.Sweep(clock_->Now());
  for (const std::shared_ptr<JobEntry>& entry : registry_.All()) {
    {
      JobEntry::Locked job = entry->Lock();
      if (!job.status().ok()) continue;
      const absl::Time now = clock_->Now();
      ApplyEvent(job, job.state().Tick(now), now);
      job.ExpireWaits(now, options_.barrier_deadline);
      if (refresh) job.RefreshGauges(now);
    }
    PersistRosterIfDue(*entry, /*force=*/false);
  }
}

void CoordinatorService::FlushRosters() {
  for (const std::shared_ptr<JobEntry>& entry : registry_.All()) {
    PersistRosterIfDue(*entry, /*force=*/true);
  }
}

void CoordinatorService::BeginShutdown() {
  {
    // Set under the streams' lock: a stream opening now is either tracked
    // (and stopped below) or sees the flag.
    absl::MutexLock lock(&streams_mu_);
    shutting_down_.store(true);
    for (StreamReactor* stream : streams_) stream->Stop(Unavailable());
  }
  for (const std::shared_ptr<JobEntry>& entry : registry_.All()) {
    entry->Lock().DrainWaits(Unavailable());
  }
}

}  // namespace ebsp::server
