#include "tools/loadgen/report_load.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <random>
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
#include "tools/loadgen/proc_cpu.h"

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
  // Where a worker is in the churn (only kActive without churn).
  enum class Phase { kActive, kLeaving, kLeft, kSilent, kJoining, kRetired };
  enum class ChurnRequest { kNone, kLeave, kSilence };

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
    // Churn: the churn thread (main) and this worker's callbacks both move
    // it between phases. A heartbeat runs beside the worker's own call, with
    // its own context.
    absl::Mutex churn_mu;
    Phase phase ABSL_GUARDED_BY(churn_mu) = Phase::kActive;
    ChurnRequest churn_request ABSL_GUARDED_BY(churn_mu) = ChurnRequest::kNone;
    bool heartbeat_in_flight ABSL_GUARDED_BY(churn_mu) = false;
    std::chrono::steady_clock::time_point silent_since ABSL_GUARDED_BY(churn_mu);
    // Start of the latest call or heartbeat (steady clock, ns): idle workers heartbeat.
    std::atomic<int64_t> last_call_ns{0};
    std::unique_ptr<grpc::ClientContext> heartbeat_ctx;
    v1::HeartbeatRequest heartbeat_req;
    v1::HeartbeatResponse heartbeat_resp;
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

  // kChurn: Leave, Register again and Heartbeat (counted, not timed).
  enum class CallKind { kReport, kBlocking, kChurn };

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
  // Ready after options_.think (the main thread's timer loop wakes it).
  void Next(Worker* w);
  void WakeSleepers();
  void SlotFreed();
  void IssueReport(Worker* w);
  void OnReport(Worker* w, const grpc::Status& status);
  void IssueBarrier(Worker* w, uint64_t round);
  void IssueWait(Worker* w);
  bool TrackBlocking(Worker* w);
  void OnBlocking(Worker* w, const grpc::Status& status, uint64_t next_round, bool new_round);
  void Record(Worker* w, CallKind kind, const grpc::Status& status, bool stopping);
  void SetPhase(Worker* w, Phase phase);

  // The main thread's timers until the end of the measured phase: churn
  // events and heartbeats (options_.churn_interval > 0), waking thinkers.
  void RunTimers(const Stopwatch& measured);
  void ChurnEvent(std::mt19937_64& rng);
  void SweepHeartbeats();
  // At a worker's step: true if a churn request took it out of the loop.
  bool TakeChurnStep(Worker* w);
  void IssueLeave(Worker* w);
  void IssueRejoin(Worker* w);
  void IssueHeartbeat(Worker* w);
  void RequestStop();
  void CallStarted() { outstanding_.fetch_add(1); }
  void CallFinished();

  const LoadOptions options_;
  bool limited_ = false;
  bool churning_ = false;
  int64_t churn_events_ = 0;  // Main thread only.
  std::atomic<int64_t> churn_leaves_{0};
  std::atomic<int64_t> churn_silenced_{0};
  std::atomic<int64_t> churn_rejoins_{0};
  std::atomic<int64_t> heartbeats_ok_{0};
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

  // Workers thinking (options_.think), in wake-up order: all think alike.
  absl::Mutex sleep_mu_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, Worker*>> sleeping_
      ABSL_GUARDED_BY(sleep_mu_);

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
  w->last_call_ns.store(w->sent.time_since_epoch().count());
  return w->ctx.get();
}

int64_t SteadyNowNs() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

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
        {
          absl::MutexLock lock(&w->churn_mu);
          // Churned out (left, silent, retired): not registered, nothing to leave.
          if (w->phase != Phase::kActive) {
            done(grpc::Status::OK);
            return;
          }
        }
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

void ReportLoad::Next(Worker* w) {
  if (options_.think <= absl::ZeroDuration()) {
    Ready(w);
    return;
  }
  absl::MutexLock lock(&sleep_mu_);
  sleeping_.emplace_back(
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.think), w);
}

void ReportLoad::WakeSleepers() {
  std::vector<Worker*> due;
  {
    absl::MutexLock lock(&sleep_mu_);
    const auto now = std::chrono::steady_clock::now();
    while (!sleeping_.empty() && sleeping_.front().first <= now) {
      due.push_back(sleeping_.front().second);
      sleeping_.pop_front();
    }
  }
  for (Worker* w : due) Ready(w);
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
  if (kind == CallKind::kChurn) return;
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
  if (!stopping && !status.ok()) SetPhase(w, Phase::kRetired);
  if (!stopping && status.ok()) w->done = w->report_req.iteration();
  if (!stopping && status.ok() && !TakeChurnStep(w)) {
    switch (w->report_resp.directive()) {
      case v1::DIRECTIVE_SYNC_NOW:
        IssueBarrier(w, w->round);
        break;
      case v1::DIRECTIVE_WAIT:
        IssueWait(w);
        break;
      default:
        Next(w);
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
  if (!stopping && !status.ok()) SetPhase(w, Phase::kRetired);
  if (!stopping && status.ok()) {
    if (new_round) {
      w->round = next_round;
      w->done = 0;
    }
    if (!TakeChurnStep(w)) Next(w);
  }
  CallFinished();
}

void ReportLoad::SetPhase(Worker* w, Phase phase) {
  absl::MutexLock lock(&w->churn_mu);
  w->phase = phase;
}

bool ReportLoad::TakeChurnStep(Worker* w) {
  if (!churning_) return false;
  ChurnRequest request;
  {
    absl::MutexLock lock(&w->churn_mu);
    request = w->churn_request;
    // A heartbeat still in flight could arrive after the Leave (NOT_FOUND) or
    // refresh a silent worker's lease: the request waits for the next step.
    if (request == ChurnRequest::kNone || w->heartbeat_in_flight) return false;
    w->churn_request = ChurnRequest::kNone;
    w->phase = request == ChurnRequest::kLeave ? Phase::kLeaving : Phase::kSilent;
    w->silent_since = std::chrono::steady_clock::now();
  }
  if (request == ChurnRequest::kLeave) {
    IssueLeave(w);
  } else {
    churn_silenced_.fetch_add(1);
  }
  return true;
}

void ReportLoad::IssueLeave(Worker* w) {
  w->leave_req.set_job(options_.job);
  w->leave_req.set_worker_id(w->id);
  grpc::ClientContext* ctx = NewContext(w, options_.rpc_timeout);
  CallStarted();
  coordinator_[w->shard]->async()->Leave(
      ctx, &w->leave_req, &w->leave_resp, [this, w](grpc::Status status) {
        const bool stopping = stop_.load();
        Record(w, CallKind::kChurn, status, stopping);
        if (status.ok()) churn_leaves_.fetch_add(1);
        // Cut at the end: whether it left is unknown, so it is not left again.
        SetPhase(w, status.ok() || stopping ? Phase::kLeft : Phase::kRetired);
        CallFinished();
      });
}

void ReportLoad::IssueRejoin(Worker* w) {
  grpc::ClientContext* ctx = NewContext(w, options_.rpc_timeout);
  CallStarted();
  coordinator_[w->shard]->async()->Register(
      ctx, &w->register_req, &w->register_resp, [this, w](grpc::Status status) {
        const bool stopping = stop_.load();
        Record(w, CallKind::kChurn, status, stopping);
        if (!status.ok()) {
          SetPhase(w, stopping ? Phase::kLeft : Phase::kRetired);
          CallFinished();
          return;
        }
        churn_rejoins_.fetch_add(1);
        w->id = w->register_resp.worker_id();
        w->round = w->register_resp.round();
        w->done = 0;
        w->report_req.set_worker_id(w->id);
        w->barrier_req.set_worker_id(w->id);
        w->wait_req.set_worker_id(w->id);
        SetPhase(w, Phase::kActive);  // Registered: LeaveAll leaves it even when stopping.
        if (!stopping) {
          if (w->register_resp.state() == v1::WORKER_STATE_PENDING) {
            IssueBarrier(w, w->register_resp.round() - 1);
          } else {
            Ready(w);
          }
        }
        CallFinished();
      });
}

void ReportLoad::IssueHeartbeat(Worker* w) {
  w->heartbeat_ctx = std::make_unique<grpc::ClientContext>();
  w->heartbeat_ctx->set_deadline(DeadlineAfter(options_.rpc_timeout));
  w->heartbeat_req.set_job(options_.job);
  w->heartbeat_req.set_worker_id(w->id);
  w->last_call_ns.store(SteadyNowNs());
  CallStarted();
  coordinator_[w->shard]->async()->Heartbeat(
      w->heartbeat_ctx.get(), &w->heartbeat_req, &w->heartbeat_resp,
      [this, w](grpc::Status status) {
        const bool stopping = stop_.load();
        if (!status.ok() && !stopping) {
          // Counted, but the worker's own next call decides whether it goes on.
          Shard& shard = *shards_[w->shard];
          absl::MutexLock lock(&shard.mu);
          ++shard.errors[std::string(StatusCodeName(status.error_code()))];
        }
        if (status.ok()) heartbeats_ok_.fetch_add(1);
        {
          absl::MutexLock lock(&w->churn_mu);
          w->heartbeat_in_flight = false;
        }
        CallFinished();
      });
}

void ReportLoad::SweepHeartbeats() {
  const int64_t idle_since = SteadyNowNs() - absl::ToInt64Nanoseconds(options_.lease / 4);
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    if (w->last_call_ns.load() > idle_since) continue;
    {
      absl::MutexLock lock(&w->churn_mu);
      if (w->phase != Phase::kActive || w->heartbeat_in_flight) continue;
      w->heartbeat_in_flight = true;
    }
    IssueHeartbeat(w);
  }
}

void ReportLoad::ChurnEvent(std::mt19937_64& rng) {
  ++churn_events_;
  const auto now = std::chrono::steady_clock::now();
  // Back first: those that left, and the silent ones the coordinator has
  // evicted by now (a lease after their last call, plus a lease of margin).
  const auto evicted_by = absl::ToChronoNanoseconds(options_.lease * 2);
  std::vector<Worker*> rejoin;
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    absl::MutexLock lock(&w->churn_mu);
    if (w->phase == Phase::kLeft ||
        (w->phase == Phase::kSilent && now - w->silent_since >= evicted_by)) {
      w->phase = Phase::kJoining;
      rejoin.push_back(w);
    }
  }
  for (Worker* w : rejoin) IssueRejoin(w);
  // Then churn_workers running workers leave and as many go silent, each at
  // its next step. Bounded tries: a small job may have fewer running workers.
  const int wanted = 2 * options_.churn_workers;
  int picked = 0;
  for (int tries = 0; picked < wanted && tries < 8 * wanted; ++tries) {
    Worker* w = workers_[rng() % workers_.size()].get();
    absl::MutexLock lock(&w->churn_mu);
    if (w->phase != Phase::kActive || w->churn_request != ChurnRequest::kNone) continue;
    w->churn_request =
        picked < options_.churn_workers ? ChurnRequest::kLeave : ChurnRequest::kSilence;
    ++picked;
  }
}

void ReportLoad::RunTimers(const Stopwatch& measured) {
  std::mt19937_64 rng(options_.seed);
  // An idle worker heartbeats within 3/8 of a lease (idle for a quarter,
  // swept every eighth): the rest is margin for a busy coordinator.
  const absl::Duration sweep_every = options_.lease / 8;
  const absl::Duration never = absl::InfiniteDuration();
  absl::Duration next_churn = churning_ ? options_.churn_interval : never;
  absl::Duration next_sweep = churning_ ? sweep_every : never;
  // Thinkers wake within this of their time.
  const absl::Duration wake_every = absl::Milliseconds(20);
  const bool pacing = options_.think > absl::ZeroDuration();
  while (true) {
    const absl::Duration elapsed = measured.Elapsed();
    if (elapsed >= options_.duration) return;
    const absl::Duration wait = std::min({next_churn, next_sweep, options_.duration,
                                          pacing ? elapsed + wake_every : never}) -
                                elapsed;
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_requested_), wait)) return;
    }
    // Outside mu_: the calls issued here may complete on other threads at once.
    const absl::Duration now = measured.Elapsed();
    if (pacing) WakeSleepers();
    if (now >= next_churn) {
      ChurnEvent(rng);
      next_churn += options_.churn_interval;
    }
    if (now >= next_sweep) {
      SweepHeartbeats();
      next_sweep += sweep_every;
    }
  }
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
      ConnectChannels(options_.target, options_.channels, options_.connect_timeout, options_.tls);
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
  churning_ =
      options_.mode == LoadMode::kCoordinator && options_.churn_interval > absl::ZeroDuration();
  double server_cpu_start = 0;
  if (options_.server_pid > 0) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options_.server_pid);
    if (!cpu.ok()) return absl::FailedPreconditionError(cpu.status().message());
    server_cpu_start = *cpu;
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
  const bool timers = churning_ || options_.think > absl::ZeroDuration();
  if (timers) RunTimers(measured);
  {
    absl::MutexLock lock(&mu_);
    if (!timers) mu_.AwaitWithTimeout(absl::Condition(&stop_requested_), options_.duration);
    drain_deadline_ = DeadlineAfter(options_.drain_timeout);
    stop_.store(true);
  }
  result.measured = measured.Elapsed();
  if (options_.server_pid > 0) {
    // The server may have exited meanwhile: then the figure stays unknown.
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options_.server_pid);
    if (cpu.ok()) result.server_cpu_seconds = *cpu - server_cpu_start;
  }
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
  result.churn_events = churn_events_;
  result.churn_leaves = churn_leaves_.load();
  result.churn_silenced = churn_silenced_.load();
  result.churn_rejoins = churn_rejoins_.load();
  result.heartbeats_ok = heartbeats_ok_.load();
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
        "\"workers_retired\": %d, \"leave_errors\": %d, "
        "\"churn\": {\"events\": %d, \"leaves\": %d, \"silenced\": %d, \"rejoins\": %d, "
        "\"heartbeats_ok\": %d}, \"server_cpu_seconds\": %s, \"server_cpu_us_per_report\": %s}",
        LoadModeName(options.mode), options.target,
        options.mode == LoadMode::kEcho ? "" : options.job, client::PolicyToText(options.policy),
        options.workers, options.channels,
        options.concurrency > 0 ? options.concurrency : options.workers,
        absl::ToDoubleSeconds(r.register_elapsed), absl::ToDoubleSeconds(r.measured), r.reports_ok,
        r.reports_per_second(), FormatMillis(h.Percentile(0.5)), FormatMillis(h.Percentile(0.9)),
        FormatMillis(h.Percentile(0.99)), FormatMillis(h.max()), FormatMillis(h.mean()),
        r.blocking_ok, FormatMillis(r.blocking_latency.Percentile(0.5)),
        FormatMillis(r.blocking_latency.Percentile(0.99)), r.errors_total, errors, r.drained,
        r.workers_retired, r.leave_errors, r.churn_events, r.churn_leaves, r.churn_silenced,
        r.churn_rejoins, r.heartbeats_ok,
        r.server_cpu_seconds < 0 ? "null" : absl::StrFormat("%.4f", r.server_cpu_seconds),
        r.server_cpu_seconds < 0 || r.reports_ok == 0
            ? "null"
            : absl::StrFormat("%.3f", 1e6 * r.server_cpu_seconds / r.reports_ok));
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
  if (r.server_cpu_seconds >= 0) {
    absl::StrAppendFormat(
        &out, "  server:   %.3f CPU-s in the measured phase = %.2f us per report\n",
        r.server_cpu_seconds, r.reports_ok > 0 ? 1e6 * r.server_cpu_seconds / r.reports_ok : 0.0);
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
  if (r.churn_events > 0) {
    absl::StrAppendFormat(&out,
                          "  churn:    %d events: %d left, %d went silent (evicted by lease), "
                          "%d registered again; %d heartbeats\n",
                          r.churn_events, r.churn_leaves, r.churn_silenced, r.churn_rejoins,
                          r.heartbeats_ok);
  }
  absl::StrAppendFormat(&out, "  calls cut at the end: %d", r.drained);
  if (r.leave_errors > 0) absl::StrAppendFormat(&out, ", Leave errors: %d", r.leave_errors);
  absl::StrAppend(&out, "\n");
  return out;
}

}  // namespace ebsp::loadgen
