// CoordinatorService: the v1 Coordinator API on gRPC's callback API, as a
// thin translation layer over core::JobState.
//
// Two layers in one class. The handlers (Handle*) hold the logic: each
// validates its request, finds and locks its job (JobEntry::Locked), calls
// the core with the clock's `now`, applies the returned Effects and returns
// an absl::Status. The RPC methods (CreateJob, Register, ...) only run a
// handler through Serve, the one place where its status becomes the call's
// grpc::Status (ToGrpcStatus); parked calls and streams convert theirs when
// they finish. Barrier and WaitForClock park their reactor in the job and
// return without holding a thread; the event that releases them finishes
// them. Tick (driven by the Ticker) evicts silent workers and fails waits
// older than the barrier deadline. Thread-safe.
//
// Errors every method can return besides the ones listed with it:
// - UNAVAILABLE once BeginShutdown ran ("coordinator is shutting down").
// - INVALID_ARGUMENT for a malformed job name, worker name or worker id 0.
// - RESOURCE_EXHAUSTED when the caller's connection exceeds the per-peer
//   request rate (every RPC; ServerOptions::peer_rate).
// At the edge (the RPC methods), before their handler: CreateJob,
// UpdatePolicy, DeleteJob and a Register that would create its job are
// authorized (auth::AdminAuthorizer): UNAUTHENTICATED without a credential,
// PERMISSION_DENIED with one that does not allow the call.
#ifndef EBSP_SERVICE_COORDINATOR_SERVICE_H_
#define EBSP_SERVICE_COORDINATOR_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "service/auth/admin_authorizer.h"
#include "service/clock.h"
#include "service/job_entry.h"
#include "service/job_registry.h"
#include "service/leadership.h"
#include "service/limits/peer_rate_limiter.h"
#include "service/metrics.h"
#include "service/server_options.h"
#include "service/store/job_store.h"
#include "service/waiting_call.h"

namespace ebsp::server {

namespace v1 = ::elasticbsp::v1;

class CoordinatorService final : public v1::Coordinator::CallbackService {
 public:
  // `clock`, `metrics` and `store` are borrowed and must outlive the
  // service. `authorizer` decides who may administer jobs (default: loopback
  // only). Without a store (null) nothing survives a restart.
  CoordinatorService(const ServerOptions& options, const Clock* clock, Metrics* metrics,
                     auth::AdminAuthorizer authorizer = {}, JobStore* store = nullptr);
  ~CoordinatorService() override;

  // When this process starts to lead (at start without HA, when elected
  // with HA): the store's jobs are recreated (RestoreJobs). Without a store:
  // OK, nothing. On an error (the store's, or RestoreJobs') no job is kept.
  absl::Status LoadStoredJobs();
  // Recreates the given jobs, each holding its first barrier for its stored
  // roster for options.restart_grace. FAILED_PRECONDITION naming the job if
  // a record does not make a valid job.
  absl::Status RestoreJobs(const std::vector<JobRecord>& records);

  // One pass of lease checks and barrier deadlines over every job, and the
  // coalesced roster writes.
  void Tick();

  // Writes every job's roster that changed since its last write (shutdown).
  void FlushRosters();

  // From now on every call (and every report on an open stream) is answered
  // with UNAVAILABLE; parked calls and open streams end with UNAVAILABLE now,
  // so that nothing is left for gRPC's grace period to cancel.
  void BeginShutdown();

  // High availability: the leadership every call is admitted by (borrowed;
  // set once, before the election starts). While options.ha is on and this
  // is unset or says "not the leader", calls get NotLeaderError.
  void SetLeadership(const Leadership* leadership);
  // Forgets every job; parked calls end with UNAVAILABLE (not the leader).
  // Called when this replica stops leading, and when it starts to (jobs
  // from an earlier term are stale).
  void DropAllJobs();

  // --- The handlers, in process ------------------------------------------
  // Each returns the status its RPC ends with; the reply is filled only on OK.

  // Creates a job from its spec and stores it (with a store) before it
  // answers. A retry (the request_id and token of the call that created the
  // job) answers the job as it is now.
  // Possible errors: INVALID_ARGUMENT (policy, heartbeat timeout negative,
  // NaN or above 3600 s, max_workers above --max_workers_per_job, auth token
  // above 1024 bytes, request_id); ALREADY_EXISTS; RESOURCE_EXHAUSTED at
  // --max_jobs; UNAVAILABLE when the store cannot write it (nothing created).
  absl::Status HandleCreateJob(const v1::CreateJobRequest& request, v1::Job* response);
  // Possible errors: NOT_FOUND (no such job, or deleted meanwhile).
  absl::Status HandleGetJob(const v1::GetJobRequest& request, v1::Job* response);
  // Every job, sorted by name; a job deleted meanwhile is left out. No errors.
  absl::Status HandleListJobs(v1::ListJobsResponse* response);
  // Takes effect at the next round boundary.
  // Possible errors: INVALID_ARGUMENT (policy); NOT_FOUND; FAILED_PRECONDITION
  // (between a policy with rounds and one without while the job has workers).
  absl::Status HandleUpdatePolicy(const v1::UpdatePolicyRequest& request, v1::Job* response);
  // Removes the job's record from the store (with one) first, then the job;
  // parked calls of the job end with NOT_FOUND.
  // Possible errors: NOT_FOUND; UNAVAILABLE when the store cannot remove the
  // record (nothing deleted: it would come back at the next restart).
  absl::Status HandleDeleteJob(const v1::DeleteJobRequest& request);

  // Joins the worker (creating and storing the job if --auto_create_jobs).
  // A retry (request_id of a registration whose worker is live) gets that
  // registration's reply and changes nothing.
  // Possible errors: INVALID_ARGUMENT (policy_if_created, request_id, or a
  // request_id that registered another name); UNAVAILABLE (the job it would
  // create cannot be stored); NOT_FOUND (no
  // such job and --auto_create_jobs off, or deleted); PERMISSION_DENIED
  // (missing or wrong auth token); ALREADY_EXISTS (the name is live in the
  // job); RESOURCE_EXHAUSTED (the job's max_workers, or --max_jobs when the
  // job would be created).
  absl::Status HandleRegister(const v1::RegisterRequest& request, v1::RegisterResponse* response);
  // One report; shared by ReportIteration and StreamReports.
  // Possible errors: INVALID_ARGUMENT (iteration 0 or above 2^31-1, compute
  // time negative, NaN or infinite); NOT_FOUND (job, or a worker that is
  // unknown, evicted or left: the message says which); FAILED_PRECONDITION
  // (not the worker's round or next iteration, beyond its target, PENDING,
  // at the barrier or in WaitForClock). The worker's last report sent again
  // is a retry: answered again, counted once.
  absl::Status HandleReport(const v1::ReportIterationRequest& request,
                            v1::ReportIterationResponse* response);
  // Barrier (`kind` kBarrier, `round`) or WaitForClock (kClock): `call` is
  // parked in its job or finished at once; it is finished exactly once,
  // never under a lock, through WaitingCall::Complete. `ctx` (may be null in
  // process) is asked whether the client cancelled before the park.
  // Possible errors, in the outcome: NOT_FOUND (job or worker, also when the
  // worker is evicted, leaves or the job is deleted while it waits);
  // FAILED_PRECONDITION (no barriers or clocks in the job's policy, wrong
  // round, before the worker's target); DEADLINE_EXCEEDED after
  // --barrier_deadline, naming the missing (or slowest) workers; CANCELLED
  // (the client went away, or a newer wait of the same worker superseded it).
  void HandleWait(core::WaitKind kind, absl::string_view job, uint64_t worker, uint64_t round,
                  WaitingCall* call, grpc::CallbackServerContext* ctx);
  // Possible errors: NOT_FOUND (job or worker).
  absl::Status HandleHeartbeat(const v1::HeartbeatRequest& request,
                               v1::HeartbeatResponse* response);
  // A parked wait of the worker ends with NOT_FOUND.
  // Possible errors: NOT_FOUND (job or worker).
  absl::Status HandleLeave(const v1::LeaveRequest& request);

  // --- v1.Coordinator: each runs its handler (see above for the errors) -----
  grpc::ServerUnaryReactor* CreateJob(grpc::CallbackServerContext* ctx,
                                      const v1::CreateJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* UpdatePolicy(grpc::CallbackServerContext* ctx,
                                         const v1::UpdatePolicyRequest* request,
                                         v1::Job* response) override;
  grpc::ServerUnaryReactor* DeleteJob(grpc::CallbackServerContext* ctx,
                                      const v1::DeleteJobRequest* request,
                                      v1::DeleteJobResponse* response) override;
  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* ctx,
                                     const v1::RegisterRequest* request,
                                     v1::RegisterResponse* response) override;
  grpc::ServerUnaryReactor* ReportIteration(grpc::CallbackServerContext* ctx,
                                            const v1::ReportIterationRequest* request,
                                            v1::ReportIterationResponse* response) override;
  // One response per request, in order; the stream ends with the first
  // report that fails (errors as HandleReport).
  grpc::ServerBidiReactor<v1::ReportIterationRequest, v1::ReportIterationResponse>* StreamReports(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Barrier(grpc::CallbackServerContext* ctx,
                                    const v1::BarrierRequest* request,
                                    v1::BarrierResponse* response) override;
  grpc::ServerUnaryReactor* WaitForClock(grpc::CallbackServerContext* ctx,
                                         const v1::WaitForClockRequest* request,
                                         v1::WaitForClockResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* Leave(grpc::CallbackServerContext* ctx, const v1::LeaveRequest* request,
                                  v1::LeaveResponse* response) override;

  const Clock& clock() const { return *clock_; }
  Metrics& metrics() { return *metrics_; }

 private:
  class WaitReactor;
  class StreamReactor;

  // The edge: runs `handler` (UNAVAILABLE instead once shutdown began),
  // converts its absl::Status with ToGrpcStatus, records the call's metrics
  // and finishes it at once. Every unary RPC that never waits goes through
  // here.
  template <typename Handler>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, RpcMethod method,
                                  Handler&& handler) {
    const absl::Time start = clock_->Now();
    absl::Status admitted = Admission();
    return FinishNow(ctx, method, start,
                     !admitted.ok()    ? admitted
                     : !AdmitPeer(ctx) ? RateLimited()
                                       : handler());
  }

  // Takes one request of the caller's connection from the rate limiter.
  bool AdmitPeer(const grpc::CallbackServerContext* ctx);
  absl::Status RateLimited() const;
  // UpdatePolicy / DeleteJob (`method`) of `job` by the caller of `ctx`.
  absl::Status AuthorizeJobAdmin(const grpc::CallbackServerContext* ctx, absl::string_view method,
                                 absl::string_view job) const;
  // Counts an open StreamReports stream of `job`; false (counting nothing)
  // when the job has max_streams_per_job already.
  bool BindStream(const std::string& job);
  void UnbindStream(const std::string& job);
  grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, RpcMethod method,
                                      absl::Time start, const absl::Status& status);

  // Barrier (`barrier_response`) or WaitForClock (`clock_response`): a
  // reactor that HandleWait parks or finishes.
  grpc::ServerUnaryReactor* StartWait(grpc::CallbackServerContext* ctx, core::WaitKind kind,
                                      absl::string_view job, uint64_t worker, uint64_t round,
                                      v1::BarrierResponse* barrier_response,
                                      v1::WaitForClockResponse* clock_response);

  // HandleWait once the job is found.
  void WaitIn(JobEntry& entry, core::WaitKind kind, core::WorkerId worker, uint64_t round,
              WaitingCall* call, grpc::CallbackServerContext* ctx);

  bool ShuttingDown() const;
  static absl::Status Unavailable();
  // OK when this replica may serve a call now: not shutting down and, with
  // HA, the leader. Otherwise the status to answer with.
  absl::Status Admission() const;

  // Validates the job name and finds the job: INVALID_ARGUMENT or NOT_FOUND.
  absl::StatusOr<std::shared_ptr<JobEntry>> FindJob(absl::string_view job) const;
  // The same after validating the worker id (INVALID_ARGUMENT).
  absl::StatusOr<std::shared_ptr<JobEntry>> FindWorkerJob(absl::string_view job,
                                                          uint64_t worker_id) const;

  // Hands a core event's effects to the job, timing it as planning when the
  // core ran ZipLine (`now` is the time the event was given).
  void ApplyEvent(JobEntry::Locked& job, const core::Effects& effects, absl::Time now);

  // Open StreamReports calls, so that shutdown can end them. TrackStream is
  // false once shutdown began.
  bool TrackStream(StreamReactor* stream);
  void ForgetStream(StreamReactor* stream);

  // Builds the job's v1 view; takes the job lock.
  absl::Status Describe(JobEntry& entry, v1::Job* job);

  // Writes the job's record now (no store: OK). Takes the job lock, then
  // writes without it.
  absl::Status PersistNow(JobEntry& entry);
  // Writes the job's roster if it is due (`force`: if it changed at all);
  // failures are logged and retried at the next due time.
  void PersistRosterIfDue(JobEntry& entry, bool force);

  const ServerOptions options_;
  const Clock* const clock_;
  Metrics* const metrics_;
  JobStore* const store_;  // May be null.
  JobRegistry registry_;
  const auth::AdminAuthorizer authorizer_;
  limits::PeerRateLimiter rate_limiter_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<const Leadership*> leadership_{nullptr};
  absl::Mutex streams_mu_;
  absl::flat_hash_set<StreamReactor*> streams_ ABSL_GUARDED_BY(streams_mu_);
  // Open streams per job name (only names with open streams are kept).
  // Its own lock: BindStream runs under a stream's lock, and shutdown takes
  // streams_mu_ before the streams' locks, so sharing streams_mu_ here
  // would order the two locks both ways.
  absl::Mutex stream_counts_mu_;
  absl::flat_hash_map<std::string, int> streams_per_job_ ABSL_GUARDED_BY(stream_counts_mu_);
  int tick_count_ = 0;  // Only the ticker thread touches it.
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_COORDINATOR_SERVICE_H_
