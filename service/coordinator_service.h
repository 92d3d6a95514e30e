// CoordinatorService: the v1 Coordinator API on gRPC's callback API, as a
// thin translation layer over core::JobState.
//
// Each RPC validates its request, locks its job, calls the core with the
// clock's `now`, applies the returned Effects (parked calls to finish after
// unlocking, metrics) and maps errors with ToGrpcStatus. Barrier and
// WaitForClock park their reactor in the job and return without holding a
// thread; the event that releases them finishes them. Tick (driven by the
// Ticker) evicts silent workers and fails waits older than the barrier
// deadline. Thread-safe.
#ifndef EBSP_SERVICE_COORDINATOR_SERVICE_H_
#define EBSP_SERVICE_COORDINATOR_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "service/clock.h"
#include "service/job_registry.h"
#include "service/metrics.h"
#include "service/server_options.h"

namespace ebsp::server {

namespace v1 = ::elasticbsp::v1;

class CoordinatorService final : public v1::Coordinator::CallbackService {
 public:
  // `clock` and `metrics` are borrowed and must outlive the service.
  CoordinatorService(const ServerOptions& options, const Clock* clock, Metrics* metrics);
  ~CoordinatorService() override;

  // One pass of lease checks and barrier deadlines over every job.
  void Tick();

  // From now on every call (and every report on an open stream) is answered
  // with UNAVAILABLE; parked calls and open streams end with UNAVAILABLE now,
  // so that nothing is left for gRPC's grace period to cancel.
  void BeginShutdown();

  // --- v1.Coordinator ---
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

  // Shared by ReportIteration and StreamReports.
  grpc::Status HandleReport(const v1::ReportIterationRequest& request,
                            v1::ReportIterationResponse* response);

  const Clock& clock() const { return *clock_; }
  Metrics& metrics() { return *metrics_; }

 private:
  class WaitReactor;
  class StreamReactor;

  grpc::Status DoCreateJob(const v1::CreateJobRequest& request, v1::Job* response);
  grpc::Status DoGetJob(const v1::GetJobRequest& request, v1::Job* response);
  grpc::Status DoListJobs(v1::ListJobsResponse* response);
  grpc::Status DoUpdatePolicy(const v1::UpdatePolicyRequest& request, v1::Job* response);
  grpc::Status DoDeleteJob(const v1::DeleteJobRequest& request);
  grpc::Status DoRegister(const v1::RegisterRequest& request, v1::RegisterResponse* response);
  grpc::Status DoHeartbeat(const v1::HeartbeatRequest& request, v1::HeartbeatResponse* response);
  grpc::Status DoLeave(const v1::LeaveRequest& request);

  // Finishes a call that never waits, recording its metrics.
  grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, RpcMethod method,
                                      absl::Time start, const grpc::Status& status);

  // A unary call that never waits: UNAVAILABLE once shutdown began,
  // otherwise `handler()`'s status; finished at once with its metrics.
  template <typename Handler>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, RpcMethod method,
                                  Handler&& handler) {
    const absl::Time start = clock_->Now();
    return FinishNow(ctx, method, start, ShuttingDown() ? Unavailable() : handler());
  }

  // Barrier (`barrier_response`) or WaitForClock (`clock_response`): parks
  // the call in its job unless it is answered at once.
  grpc::ServerUnaryReactor* StartWait(grpc::CallbackServerContext* ctx, core::WaitKind kind,
                                      absl::string_view job, uint64_t worker, uint64_t round,
                                      v1::BarrierResponse* barrier_response,
                                      v1::WaitForClockResponse* clock_response);

  bool ShuttingDown() const;
  static grpc::Status Unavailable();

  // Validates the job name and finds the job: INVALID_ARGUMENT or NOT_FOUND.
  absl::StatusOr<std::shared_ptr<JobEntry>> FindJob(absl::string_view job) const;
  // The same after validating the worker id (INVALID_ARGUMENT).
  absl::StatusOr<std::shared_ptr<JobEntry>> FindWorkerJob(absl::string_view job,
                                                          uint64_t worker_id) const;

  // Hands a core event's effects to the job, timing it as planning when the
  // core ran ZipLine (`now` is the time the event was given).
  void ApplyEvent(JobEntry& job, const core::Effects& effects, absl::Time now, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(job.mu);

  // Open StreamReports calls, so that shutdown can end them. TrackStream is
  // false once shutdown began.
  bool TrackStream(StreamReactor* stream);
  void ForgetStream(StreamReactor* stream);

  // Builds the job's v1 view; takes the job lock.
  grpc::Status Describe(JobEntry& entry, v1::Job* job);

  const ServerOptions options_;
  const Clock* const clock_;
  Metrics* const metrics_;
  JobRegistry registry_;
  std::atomic<bool> shutting_down_{false};
  absl::Mutex streams_mu_;
  absl::flat_hash_set<StreamReactor*> streams_ ABSL_GUARDED_BY(streams_mu_);
  int tick_count_ = 0;  // Only the ticker thread touches it.
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_COORDINATOR_SERVICE_H_
