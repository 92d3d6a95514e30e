#include "tools/loadgen/report_load.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "clients/cpp/ebsp/policy_text.h"
#include "echo.grpc.pb.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tools/loadgen/call_batch.h"
#include "tools/loadgen/grpc_util.h"

namespace ebsp::loadgen {
namespace {

namespace v1 = ::elasticbsp::v1;

// Registrations and leaves in flight at once: enough to hide the round trip,
// few enough not to look like the load being measured.
constexpr size_t kSetupWindow = 256;

class ReportLoad {
 public:
  explicit ReportLoad(const LoadOptions& options) : options_(options) {}

  absl::StatusOr<LoadResult> Run();
  // False if calls may still complete into this object (a transport that
  // ignored its deadlines): then it must not be destroyed.
  bool quiescent() const { return outstanding_.load() == 0; }

 private:
  struct Worker {
    int shard = 0;
    std::string name;
    uint64_t id = 0;
    uint64_t round = 0;
    uint32_t done = 0;  // Iterations finished in `round`.
    std::unique_ptr<grpc::ClientContext> ctx;
    std::chrono::steady_clock::time_point sent;
    v1::RegisterRequest register_req;
    v1::RegisterResponse register_resp;
    v1::ReportIterationRequest report_req;
    v1::ReportIterationResponse report_resp;
    v1::BarrierRequest barrier_req;
    v1::BarrierResponse barrier_resp;
    v1::WaitForClockRequest wait_req;
    v1::WaitForClockResponse wait_resp;
    v1::LeaveRequest leave_req;
    v1::LeaveResponse leave_resp;
  };

  // Per-channel counters, so completions on different channels rarely share
  // a lock.
  struct Shard {
    absl::Mutex mu;
    LatencyHistogram report ABSL_GUARDED_BY(mu);
    LatencyHistogram blocking ABSL_GUARDED_BY(mu);
    int64_t reports_ok ABSL_GUARDED_BY(mu) = 0;
    int64_t blocking_ok ABSL_GUARDED_BY(mu) = 0;
    std::map<std::string, int64_t> errors ABSL_GUARDED_BY(mu);
    int64_t drained ABSL_GUARDED_BY(mu) = 0;
    int64_t retired ABSL_GUARDED_BY(mu) = 0;
  };

  enum class CallKind { kReport, kBlocking };

  absl::Status RegisterAll();
  void LeaveAll(LoadResult& result);
  // The bound of a setup batch (Register or Leave of every worker).
  absl::Duration SetupTimeout() const {
    return options_.rpc_timeout * static_cast<double>(workers_.size() / kSetupWindow + 2);
  }
  std::string DescribeWorker(size_t i) const {
    return absl::StrCat("worker ", workers_[i]->name, " in job ", options_.job);
  }

  grpc::ClientContext* NewContext(Worker* w, absl::Duration timeout);
  void Ready(Worker* w);
  void SlotFreed();
  void IssueReport(Worker* w);
  void OnReport(Worker* w, const grpc::Status& status);
  void IssueBarrier(Worker* w, uint64_t round);
  void IssueWait(Worker* w);
  bool TrackBlocking(Worker* w);
  void OnBlocking(Worker* w, const grpc::Status& status, uint64_t next_round, bool new_round);
  void Record(Worker* w, CallKind kind, const grpc::Status& status, bool stopping);
  void RequestStop();
  void CallStarted() { outstanding_.fetch_add(1); }
  void CallFinished();

  const LoadOptions options_;
  bool limited_ = false;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::Coordinator::Stub>> coordinator_;
  std::vector<std::unique_ptr<elasticbsp::loadgen::v1::Echo::Stub>> echo_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::chrono::system_clock::time_point drain_deadline_;

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> issued_{0};
  std::atomic<int64_t> outstanding_{0};

  // Wakes the main thread: a stop request (max_requests) or no call left.
  absl::Mutex mu_;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;

  // Concurrency limit (only when limited_): workers waiting for a slot.
  absl::Mutex dispatch_mu_;
  std::deque<Worker*> ready_ ABSL_GUARDED_BY(dispatch_mu_);
  int free_slots_ ABSL_GUARDED_BY(dispatch_mu_) = 0;

  // Workers inside Barrier / WaitForClock, cancelled at stop.
  absl::Mutex blocking_mu_;
  std::unordered_set<Worker*> blocking_ ABSL_GUARDED_BY(blocking_mu_);
};

grpc::ClientContext* ReportLoad::NewContext(Worker* w, absl::Duration timeout) {
  w->ctx = std::make_unique<grpc::ClientContext>();
  auto deadline = DeadlineAfter(timeout);
  // Once the measured phase is over nothing may outlive the drain
  // (drain_deadline_ is written before stop_ is set).
  if (stop_.load()) deadline = std::min(deadline, drain_deadline_);
  w->ctx->set_deadline(deadline);
  w->sent = std::chrono::steady_clock::now();
  return w->ctx.get();
}

absl::Status ReportLoad::RegisterAll() {
  return RunCallBatch(
      workers_.size(), kSetupWindow,
      [this](size_t i, CallDone done) {
        Worker* w = workers_[i].get();
        w->register_req.set_job(options_.job);
        w->register_req.set_worker_name(w->name);
        *w->register_req.mutable_policy_if_created() = options_.policy;
        coordinator_[w->shard]->async()->Register(NewContext(w, options_.rpc_timeout),
                                                  &w->register_req, &w->register_resp,
                                                  [w, done = std::move(done)](grpc::Status status) {
                                                    w->id = w->register_resp.worker_id();
                                                    w->round = w->register_resp.round();
                                                    done(status);
                                                  });
      },
      [this](size_t i) { return DescribeWorker(i); }, "Register", SetupTimeout());
}

void ReportLoad::LeaveAll(LoadResult& result) {
  // Shared with the callbacks, which may outlive this frame on a timeout.
  auto errors = std::make_shared<std::atomic<int64_t>>(0);
  (void)RunCallBatch(
      workers_.size(), kSetupWindow,
      [this, errors](size_t i, CallDone done) {
        Worker* w = workers_[i].get();
        w->leave_req.set_job(options_.job);
        w->leave_req.set_worker_id(w->id);
        coordinator_[w->shard]->async()->Leave(
            NewContext(w, options_.rpc_timeout), &w->leave_req, &w->leave_resp,
            [errors, done = std::move(done)](grpc::Status status) {
              if (!status.ok()) errors->fetch_add(1);
              done(status);
            });
      },
      [this](size_t i) { return DescribeWorker(i); }, "Leave", SetupTimeout());
  result.leave_errors = errors->load();
}

void ReportLoad::Ready(Worker* w) {
  if (!limited_) {
    IssueReport(w);
    return;
  }
  Worker* run = nullptr;
  {
    absl::MutexLock lock(&dispatch_mu_);
    ready_.push_back(w);
    if (free_slots_ > 0) {
      --free_slots_;
      run = ready_.front();
      ready_.pop_front();
    }
  }
  if (run != nullptr) IssueReport(run);
}

void ReportLoad::SlotFreed() {
  if (!limited_) return;
  Worker* run = nullptr;
  {
    absl::MutexLock lock(&dispatch_mu_);
    if (ready_.empty()) {
      ++free_slots_;
    } else {
      run = ready_.front();
      ready_.pop_front();
    }
  }
  if (run != nullptr) IssueReport(run);
}

void ReportLoad::RequestStop() {
  absl::MutexLock lock(&mu_);
  stop_requested_ = true;
}

void ReportLoad::CallFinished() {
  if (outstanding_.fetch_sub(1) == 1) {
    // Conditions on mu_ are evaluated when mu_ is released.
    absl::MutexLock lock(&mu_);
  }
}

void ReportLoad::IssueReport(Worker* w) {
  if (stop_.load()) return;
  if (options_.max_requests > 0 && issued_.fetch_add(1) >= options_.max_requests) {
    RequestStop();
    return;
  }
  w->report_req.set_round(w->round);
  w->report_req.set_iteration(w->done + 1);
  grpc::ClientContext* ctx = NewContext(w, options_.rpc_timeout);
  CallStarted();
  auto on_done = [this, w](grpc::Status status) { OnReport(w, status); };
  if (options_.mode == LoadMode::kEcho) {
    echo_[w->shard]->async()->Echo(ctx, &w->report_req, &w->report_resp, std::move(on_done));
  } else {
    coordinator_[w->shard]->async()->ReportIteration(ctx, &w->report_req, &w->report_resp,
                                                     std::move(on_done));
  }
}

void ReportLoad::Record(Worker* w, CallKind kind, const grpc::Status& status, bool stopping) {
  const absl::Duration latency = absl::FromChrono(std::chrono::steady_clock::now() - w->sent);
  Shard& shard = *shards_[w->shard];
  absl::MutexLock lock(&shard.mu);
  if (stopping) {
    ++shard.drained;
    return;
  }
  if (!status.ok()) {
    ++shard.errors[std::string(StatusCodeName(status.error_code()))];
    ++shard.retired;
    return;
  }
  if (kind == CallKind::kReport) {
    ++shard.reports_ok;
    shard.report.Record(latency);
  } else {
    ++shard.blocking_ok;
    shard.blocking.Record(latency);
  }
}

void ReportLoad::OnReport(Worker* w, const grpc::Status& status) {
  const bool stopping = stop_.load();
  Record(w, CallKind::kReport, status, stopping);
  SlotFreed();
  if (!stopping && status.ok()) {
    w->done = w->report_req.iteration();
    switch (w->report_resp.directive()) {
      case v1::DIRECTIVE_SYNC_NOW:
        IssueBarrier(w, w->round);
        break;
      case v1::DIRECTIVE_WAIT:
        IssueWait(w);
        break;
      default:
        Ready(w);
        break;
    }
  }
  CallFinished();
}

bool ReportLoad::TrackBlocking(Worker* w) {
  absl::MutexLock lock(&blocking_mu_);
  // Checked under the lock the stop path cancels under, so no blocking call
  // can start unseen after the cancellation sweep.
  if (stop_.load()) return false;
  blocking_.insert(w);
  return true;
}

void ReportLoad::IssueBarrier(Worker* w, uint64_t round) {
  w->barrier_req.set_round(round);
  grpc::ClientContext* ctx = NewContext(w, options_.rpc_timeout);
  if (!TrackBlocking(w)) return;
  CallStarted();
  coordinator_[w->shard]->async()->Barrier(
      ctx, &w->barrier_req, &w->barrier_resp, [this, w](grpc::Status status) {
        OnBlocking(w, status, w->barrier_resp.round(), /*new_round=*/true);
      });
}

void ReportLoad::IssueWait(Worker* w) {
  grpc::ClientContext* ctx = NewContext(w, options_.rpc_timeout);
  if (!TrackBlocking(w)) return;
  CallStarted();
  coordinator_[w->shard]->async()->WaitForClock(
      ctx, &w->wait_req, &w->wait_resp,
      [this, w](grpc::Status status) { OnBlocking(w, status, w->round, /*new_round=*/false); });
}

void ReportLoad::OnBlocking(Worker* w, const grpc::Status& status, uint64_t next_round,
                            bool new_round) {
  {
    absl::MutexLock lock(&blocking_mu_);
    blocking_.erase(w);
  }
  const bool stopping = stop_.load();
  Record(w, CallKind::kBlocking, status, stopping);
  if (!stopping && status.ok()) {
    if (new_round) {
      w->round = next_round;
      w->done = 0;
    }
    Ready(w);
  }
  CallFinished();
}

absl::StatusOr<LoadResult> ReportLoad::Run() {
  if (options_.workers < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--workers=", options_.workers, " must be at least 1"));
  }
  if (options_.channels < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--channels=", options_.channels, " must be at least 1"));
  }
  absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> channels =
      ConnectChannels(options_.target, options_.channels, options_.connect_timeout);
  if (!channels.ok()) return channels.status();
  channels_ = *std::move(channels);
  for (const auto& channel : channels_) {
    coordinator_.push_back(v1::Coordinator::NewStub(channel));
    echo_.push_back(elasticbsp::loadgen::v1::Echo::NewStub(channel));
    shards_.push_back(std::make_unique<Shard>());
  }
  for (int i = 0; i < options_.workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->shard = i % options_.channels;
    w->name = absl::StrCat("lg-", i);
    w->id = static_cast<uint64_t>(i) + 1;
    workers_.push_back(std::move(w));
  }

  LoadResult result;
  if (options_.mode == LoadMode::kCoordinator) {
    Stopwatch register_watch;
    if (absl::Status s = RegisterAll(); !s.ok()) return s;
    result.register_elapsed = register_watch.Elapsed();
  }
  for (auto& w : workers_) {
    w->report_req.set_job(options_.job);
    w->report_req.set_worker_id(w->id);
    w->report_req.set_compute_seconds(absl::ToDoubleSeconds(options_.compute));
    w->barrier_req.set_job(options_.job);
    w->barrier_req.set_worker_id(w->id);
    w->wait_req.set_job(options_.job);
    w->wait_req.set_worker_id(w->id);
  }

  limited_ = options_.concurrency > 0 && options_.concurrency < options_.workers;
  if (limited_) {
    absl::MutexLock lock(&dispatch_mu_);
    free_slots_ = options_.concurrency;
  }

  if (options_.duration <= absl::ZeroDuration() && options_.max_requests <= 0) {
    // Registration only (e.g. to measure the memory of idle members).
    if (options_.mode == LoadMode::kCoordinator && options_.leave_at_end) LeaveAll(result);
    return result;
  }
  Stopwatch measured;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    if (options_.mode == LoadMode::kCoordinator &&
        worker->register_resp.state() == v1::WORKER_STATE_PENDING) {
      // Joined mid-round: it waits for the current round to end first.
      IssueBarrier(worker, worker->register_resp.round() - 1);
    } else {
      Ready(worker);
    }
  }
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_requested_), options_.duration);
    drain_deadline_ = DeadlineAfter(options_.drain_timeout);
    stop_.store(true);
  }
  result.measured = measured.Elapsed();
  {
    absl::MutexLock lock(&blocking_mu_);
    for (Worker* w : blocking_) w->ctx->TryCancel();
  }
  {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() { return outstanding_.load() == 0; };
    // Blocking calls were cancelled and later ones carry the drain deadline;
    // reports sent before the stop still carry their own rpc_timeout.
    mu_.AwaitWithTimeout(absl::Condition(&idle),
                         std::max(options_.drain_timeout, options_.rpc_timeout) + absl::Seconds(1));
  }
  if (outstanding_.load() != 0) {
    // Unreachable unless the transport ignores deadlines: the calls still
    // reference `workers_`, so leave them to the process exit.
    return absl::DeadlineExceededError(absl::StrCat(
        outstanding_.load(), " calls still in flight past their deadlines after the end"));
  }

  for (auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    result.report_latency.Merge(shard->report);
    result.blocking_latency.Merge(shard->blocking);
    result.reports_ok += shard->reports_ok;
    result.blocking_ok += shard->blocking_ok;
    for (const auto& [code, count] : shard->errors) {
      result.errors_by_code[code] += count;
      result.errors_total += count;
    }
    result.drained += shard->drained;
    result.workers_retired += shard->retired;
  }
  if (options_.mode == LoadMode::kCoordinator && options_.leave_at_end) {
    drain_deadline_ = {};
    stop_.store(false);
    LeaveAll(result);
  }
  return result;
}

}  // namespace

double LoadResult::reports_per_second() const {
  const double seconds = absl::ToDoubleSeconds(measured);
  return seconds > 0 ? static_cast<double>(reports_ok) / seconds : 0.0;
}

absl::StatusOr<LoadResult> RunReportLoad(const LoadOptions& options) {
  auto load = std::make_unique<ReportLoad>(options);
  absl::StatusOr<LoadResult> result = load->Run();
  // gRPC may still call back into a load with calls in flight; the process is
  // about to report the error and exit, so keep it alive rather than crash.
  if (!load->quiescent()) load.release();
  return result;
}

std::string LoadModeName(LoadMode mode) { return mode == LoadMode::kEcho ? "echo" : "coordinator"; }

bool AbslParseFlag(absl::string_view text, LoadMode* mode, std::string* error) {
  for (LoadMode candidate : {LoadMode::kCoordinator, LoadMode::kEcho}) {
    if (text == LoadModeName(candidate)) {
      *mode = candidate;
      return true;
    }
  }
  *error = absl::StrCat("\"", text, "\" is neither coordinator nor echo");
  return false;
}

std::string AbslUnparseFlag(LoadMode mode) { return LoadModeName(mode); }

std::string FormatLoadResult(const LoadOptions& options, const LoadResult& r, bool json) {
  const LatencyHistogram& h = r.report_latency;
  if (json) {
    std::string errors;
    for (const auto& [code, count] : r.errors_by_code) {
      absl::StrAppend(&errors, errors.empty() ? "" : ", ", "\"", code, "\": ", count);
    }
    return absl::StrFormat(
        "{\"mode\": \"%s\", \"target\": \"%s\", \"job\": \"%s\", \"policy\": \"%s\", "
        "\"workers\": %d, \"channels\": %d, \"concurrency\": %d, "
        "\"register_seconds\": %.6f, \"measured_seconds\": %.6f, "
        "\"reports_ok\": %d, \"throughput_rps\": %.1f, "
        "\"latency_ms\": {\"p50\": %s, \"p90\": %s, \"p99\": %s, \"max\": %s, \"mean\": %s}, "
        "\"blocking_ok\": %d, \"blocking_p50_ms\": %s, \"blocking_p99_ms\": %s, "
        "\"errors_total\": %d, \"errors\": {%s}, \"drained\": %d, "
        "\"workers_retired\": %d, \"leave_errors\": %d}",
        LoadModeName(options.mode), options.target,
        options.mode == LoadMode::kEcho ? "" : options.job, client::PolicyToText(options.policy),
        options.workers, options.channels,
        options.concurrency > 0 ? options.concurrency : options.workers,
        absl::ToDoubleSeconds(r.register_elapsed), absl::ToDoubleSeconds(r.measured), r.reports_ok,
        r.reports_per_second(), FormatMillis(h.Percentile(0.5)), FormatMillis(h.Percentile(0.9)),
        FormatMillis(h.Percentile(0.99)), FormatMillis(h.max()), FormatMillis(h.mean()),
        r.blocking_ok, FormatMillis(r.blocking_latency.Percentile(0.5)),
        FormatMillis(r.blocking_latency.Percentile(0.99)), r.errors_total, errors, r.drained,
        r.workers_retired, r.leave_errors);
  }
  std::string out = absl::StrFormat("ebsp-loadgen: %s mode against %s, %d workers on %d channels",
                                    LoadModeName(options.mode), options.target, options.workers,
                                    options.channels);
  if (options.mode == LoadMode::kCoordinator) {
    absl::StrAppendFormat(&out, ", job %s (policy %s)\n  registered in %.3f s", options.job,
                          client::PolicyToText(options.policy),
                          absl::ToDoubleSeconds(r.register_elapsed));
  }
  absl::StrAppendFormat(&out, "\n  reports:  %d ok in %.3f s = %.0f req/s\n", r.reports_ok,
                        absl::ToDoubleSeconds(r.measured), r.reports_per_second());
  absl::StrAppendFormat(
      &out, "  latency:  p50 %s ms  p90 %s ms  p99 %s ms  max %s ms  mean %s ms\n",
      FormatMillis(h.Percentile(0.5)), FormatMillis(h.Percentile(0.9)),
      FormatMillis(h.Percentile(0.99)), FormatMillis(h.max()), FormatMillis(h.mean()));
  if (r.blocking_ok > 0) {
    absl::StrAppendFormat(&out, "  barrier/wait calls: %d ok, p50 %s ms  p99 %s ms\n",
                          r.blocking_ok, FormatMillis(r.blocking_latency.Percentile(0.5)),
                          FormatMillis(r.blocking_latency.Percentile(0.99)));
  }
  if (r.errors_total == 0) {
    absl::StrAppend(&out, "  errors:   none\n");
  } else {
    absl::StrAppend(&out, "  errors:  ");
    for (const auto& [code, count] : r.errors_by_code) {
      absl::StrAppend(&out, " ", code, "=", count);
    }
    absl::StrAppendFormat(&out, " (%d workers stopped after an error)\n", r.workers_retired);
  }
  absl::StrAppendFormat(&out, "  calls cut at the end: %d", r.drained);
  if (r.leave_errors > 0) absl::StrAppendFormat(&out, ", Leave errors: %d", r.leave_errors);
  absl::StrAppend(&out, "\n");
  return out;
}

}  // namespace ebsp::loadgen
