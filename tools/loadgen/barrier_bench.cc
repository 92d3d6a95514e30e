#include "tools/loadgen/barrier_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "echo.grpc.pb.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tools/loadgen/call_batch.h"
#include "tools/loadgen/grpc_util.h"

namespace ebsp::loadgen {
namespace {

namespace v1 = ::elasticbsp::v1;
namespace echo = ::elasticbsp::loadgen::v1;
using SteadyTime = std::chrono::steady_clock::time_point;

// The worker lease must outlast a whole round of 10,000 workers on a busy
// machine; the bench is not about evictions.
constexpr double kBenchHeartbeatTimeoutSeconds = 600;
constexpr size_t kSetupWindow = 512;
// GetJob of a 10,000-worker job costs the server milliseconds; polling
// faster than this would slow the arrivals it waits for.
constexpr absl::Duration kArrivalPollInterval = absl::Milliseconds(50);

struct Worker {
  int index = 0;
  std::string name;
  uint64_t id = 0;
  uint64_t round = 0;
  std::unique_ptr<grpc::ClientContext> ctx;
  v1::RegisterRequest register_req;
  v1::RegisterResponse register_resp;
  v1::ReportIterationRequest report_req;
  v1::ReportIterationResponse report_resp;
  v1::BarrierRequest barrier_req;
  echo::ParkRequest park_req;
  v1::BarrierResponse barrier_resp;
  v1::LeaveRequest leave_req;
  v1::LeaveResponse leave_resp;
  SteadyTime completed;
};

using IssueFor = std::function<void(Worker*, CallDone)>;

// One call per worker, `window` at a time (see RunCallBatch); notes when each
// completed. Everything the callbacks use is captured by value.
absl::Status RunBatch(std::vector<Worker*> workers, size_t window, IssueFor issue,
                      absl::string_view what, absl::Duration timeout) {
  const size_t count = workers.size();
  auto describe = [workers](size_t i) {
    return absl::StrCat("worker ", workers[i]->name, " (id ", workers[i]->id, ")");
  };
  auto issue_one = [workers, issue = std::move(issue)](size_t i, CallDone done) {
    Worker* w = workers[i];
    issue(w, [w, done = std::move(done)](const grpc::Status& status) {
      w->completed = std::chrono::steady_clock::now();
      done(status);
    });
  };
  return RunCallBatch(count, window, issue_one, describe, what, timeout);
}

class BarrierBench {
 public:
  explicit BarrierBench(const BarrierBenchOptions& options) : options_(options) {}

  absl::StatusOr<BarrierBenchResult> Run();

 private:
  v1::Coordinator::Stub& StubFor(const Worker& w) {
    return *stubs_[static_cast<size_t>(w.index) % stubs_.size()];
  }
  echo::Echo::Stub& EchoStubFor(const Worker& w) {
    return *echo_stubs_[static_cast<size_t>(w.index) % echo_stubs_.size()];
  }
  bool echo_mode() const { return options_.mode == LoadMode::kEcho; }
  grpc::ClientContext* NewContext(Worker* w) {
    w->ctx = std::make_unique<grpc::ClientContext>();
    w->ctx->set_deadline(DeadlineAfter(options_.rpc_timeout));
    return w->ctx.get();
  }
  std::vector<Worker*> All() {
    std::vector<Worker*> out;
    for (auto& w : workers_) out.push_back(w.get());
    return out;
  }
  // Whole-batch timeout for `calls` calls `window` at a time.
  absl::Duration BatchTimeout(size_t calls, size_t window) const {
    return options_.rpc_timeout * static_cast<double>(calls / window + 2);
  }

  absl::Status CreateJob();
  absl::Status RegisterAll();
  absl::StatusOr<BarrierRoundResult> RunRound(uint64_t round);
  absl::Status ReportAll(uint64_t round);
  absl::Status AwaitArrivals(uint64_t round, size_t arrived);
  void Cleanup();

  const BarrierBenchOptions options_;
  std::vector<std::unique_ptr<v1::Coordinator::Stub>> stubs_;
  std::vector<std::unique_ptr<echo::Echo::Stub>> echo_stubs_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

absl::Status BarrierBench::CreateJob() {
  v1::CreateJobRequest request;
  v1::JobSpec& spec = *request.mutable_spec();
  spec.set_job(options_.job);
  spec.mutable_policy()->set_kind(v1::POLICY_KIND_BSP);
  spec.set_heartbeat_timeout_seconds(kBenchHeartbeatTimeoutSeconds);
  spec.set_max_workers(static_cast<uint32_t>(options_.workers));
  v1::Job job;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(options_.rpc_timeout));
  grpc::Status status = stubs_[0]->CreateJob(&ctx, request, &job);
  if (!status.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("CreateJob ", options_.job, ": ", DescribeStatus(status)));
  }
  return absl::OkStatus();
}

absl::Status BarrierBench::RegisterAll() {
  absl::Status status = RunBatch(
      All(), kSetupWindow,
      [this](Worker* w, CallDone done) {
        w->register_req.set_job(options_.job);
        w->register_req.set_worker_name(w->name);
        StubFor(*w).async()->Register(NewContext(w), &w->register_req, &w->register_resp,
                                      [w, done = std::move(done)](grpc::Status s) {
                                        w->id = w->register_resp.worker_id();
                                        w->round = w->register_resp.round();
                                        done(s);
                                      });
      },
      "Register", BatchTimeout(workers_.size(), kSetupWindow));
  if (!status.ok()) return status;
  for (const auto& w : workers_) {
    if (w->register_resp.state() != v1::WORKER_STATE_RUNNING) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", w->name, " registered in state ",
                       v1::WorkerState_Name(w->register_resp.state()),
                       ", expected RUNNING: the bench needs a job of its own (--job)"));
    }
    if (w->round != workers_[0]->round) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", w->name, " registered into round ", w->round, ", worker ",
                       workers_[0]->name, " into ", workers_[0]->round));
    }
  }
  return absl::OkStatus();
}

absl::Status BarrierBench::ReportAll(uint64_t round) {
  absl::Status status = RunBatch(
      All(), kSetupWindow,
      [this, round](Worker* w, CallDone done) {
        w->report_req.set_job(options_.job);
        w->report_req.set_worker_id(w->id);
        w->report_req.set_round(round);
        w->report_req.set_iteration(1);
        w->report_req.set_compute_seconds(0.001);
        StubFor(*w).async()->ReportIteration(NewContext(w), &w->report_req, &w->report_resp,
                                             std::move(done));
      },
      absl::StrCat("ReportIteration in round ", round),
      BatchTimeout(workers_.size(), kSetupWindow));
  if (!status.ok()) return status;
  for (const auto& w : workers_) {
    if (w->report_resp.directive() != v1::DIRECTIVE_SYNC_NOW) {
      return absl::FailedPreconditionError(absl::StrCat(
          "worker ", w->name, " got ", v1::Directive_Name(w->report_resp.directive()),
          " after iteration 1 of round ", round, " under BSP, expected DIRECTIVE_SYNC_NOW"));
    }
  }
  return absl::OkStatus();
}

absl::Status BarrierBench::AwaitArrivals(uint64_t round, size_t arrived) {
  Stopwatch waited;
  size_t seen = 0;
  while (waited.Elapsed() < options_.arrival_timeout) {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(options_.rpc_timeout));
    if (echo_mode()) {
      echo::ParkedRequest request;
      request.set_round(round);
      echo::ParkedResponse response;
      grpc::Status status = echo_stubs_[0]->Parked(&ctx, request, &response);
      if (!status.ok()) {
        return absl::FailedPreconditionError(absl::StrCat("Parked: ", DescribeStatus(status)));
      }
      seen = response.parked();
    } else {
      v1::GetJobRequest request;
      request.set_job(options_.job);
      v1::Job job;
      grpc::Status status = stubs_[0]->GetJob(&ctx, request, &job);
      if (!status.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat("GetJob ", options_.job, ": ", DescribeStatus(status)));
      }
      seen = job.barrier().round() == round
                 ? static_cast<size_t>(job.barrier().arrived_worker_ids_size())
                 : 0;
    }
    if (seen >= arrived) return absl::OkStatus();
    // A poll, not a sleep-and-hope: the loop ends as soon as GetJob shows
    // the arrivals, and the interval only spares the server.
    absl::SleepFor(kArrivalPollInterval);
  }
  return absl::DeadlineExceededError(absl::StrCat("round ", round, ": only ", seen, " of ", arrived,
                                                  " Barrier calls arrived within ",
                                                  absl::FormatDuration(options_.arrival_timeout)));
}

absl::StatusOr<BarrierRoundResult> BarrierBench::RunRound(uint64_t round) {
  if (!echo_mode()) {
    if (absl::Status s = ReportAll(round); !s.ok()) return s;
  }

  std::vector<Worker*> early = All();
  Worker* last = early.back();
  early.pop_back();
  auto issue_barrier = [this, round](Worker* w, CallDone done) {
    if (echo_mode()) {
      w->park_req.set_round(round);
      w->park_req.set_parties(static_cast<uint32_t>(options_.workers));
      w->park_req.set_worker_id(w->id);
      EchoStubFor(*w).async()->Park(NewContext(w), &w->park_req, &w->barrier_resp, std::move(done));
      return;
    }
    w->barrier_req.set_job(options_.job);
    w->barrier_req.set_worker_id(w->id);
    w->barrier_req.set_round(round);
    StubFor(*w).async()->Barrier(NewContext(w), &w->barrier_req, &w->barrier_resp, std::move(done));
  };
  // All N-1 in flight at once (the window is the whole batch). The batch
  // blocks until its calls finish, which is only after the last arrival, so
  // it waits on its own thread while this one sends the last arrival.
  absl::Status early_status;
  std::thread early_thread([&] {
    early_status =
        RunBatch(early, early.size(), issue_barrier, absl::StrCat("Barrier of round ", round),
                 options_.rpc_timeout + options_.arrival_timeout);
  });
  absl::Status arrivals = AwaitArrivals(round, early.size());
  const SteadyTime sent = std::chrono::steady_clock::now();
  absl::Status last_status =
      RunBatch({last}, 1, issue_barrier, absl::StrCat("last Barrier of round ", round),
               options_.rpc_timeout);
  early_thread.join();
  if (!arrivals.ok()) return arrivals;
  if (!early_status.ok()) return early_status;
  if (!last_status.ok()) return last_status;

  BarrierRoundResult result;
  result.round = round;
  SteadyTime first = last->completed;
  SteadyTime all = last->completed;
  for (const auto& w : workers_) {
    if (w->barrier_resp.round() != round + 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", w->name, " was released into round ", w->barrier_resp.round(),
                       ", expected ", round + 1));
    }
    first = std::min(first, w->completed);
    all = std::max(all, w->completed);
    w->round = round + 1;
  }
  result.release_latency = absl::FromChrono(all - sent);
  result.first_response = absl::FromChrono(first - sent);
  result.sent_monotonic_seconds = std::chrono::duration<double>(sent.time_since_epoch()).count();
  return result;
}

void BarrierBench::Cleanup() {
  if (echo_mode()) return;
  // Best effort: the job is deleted either way; Leave first so its workers'
  // departure is visible in the coordinator's metrics like a real job's.
  (void)RunBatch(
      All(), kSetupWindow,
      [this](Worker* w, CallDone done) {
        w->leave_req.set_job(options_.job);
        w->leave_req.set_worker_id(w->id);
        StubFor(*w).async()->Leave(NewContext(w), &w->leave_req, &w->leave_resp, std::move(done));
      },
      "Leave", BatchTimeout(workers_.size(), kSetupWindow));
  v1::DeleteJobRequest request;
  request.set_job(options_.job);
  v1::DeleteJobResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(options_.rpc_timeout));
  (void)stubs_[0]->DeleteJob(&ctx, request, &response);
}

absl::StatusOr<BarrierBenchResult> BarrierBench::Run() {
  if (options_.workers < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("--workers=", options_.workers, ": a barrier needs at least 2"));
  }
  if (options_.rounds < 1 || options_.channels < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--rounds=", options_.rounds, " and --channels=",
                                                   options_.channels, " must be at least 1"));
  }
  absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> channels =
      ConnectChannels(options_.target, options_.channels, options_.connect_timeout);
  if (!channels.ok()) return channels.status();
  for (const auto& channel : *channels) {
    stubs_.push_back(v1::Coordinator::NewStub(channel));
    echo_stubs_.push_back(echo::Echo::NewStub(channel));
  }
  for (int i = 0; i < options_.workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->name = absl::StrCat("bb-", i);
    w->id = static_cast<uint64_t>(i) + 1;  // Echo mode; Register replaces it.
    workers_.push_back(std::move(w));
  }

  BarrierBenchResult result;
  absl::Status status;
  if (!echo_mode()) {
    if (absl::Status s = CreateJob(); !s.ok()) return s;
    Stopwatch register_watch;
    status = RegisterAll();
    result.register_elapsed = register_watch.Elapsed();
  }
  uint64_t round = workers_[0]->round;
  for (int r = 0; status.ok() && r < options_.rounds; ++r) {
    absl::StatusOr<BarrierRoundResult> one = RunRound(round);
    if (!one.ok()) {
      status = one.status();
      break;
    }
    result.rounds.push_back(*one);
    ++round;
  }
  Cleanup();
  if (!status.ok()) return status;

  std::vector<absl::Duration> latencies;
  for (const auto& r : result.rounds) latencies.push_back(r.release_latency);
  std::sort(latencies.begin(), latencies.end());
  const size_t n = latencies.size();
  result.median_release =
      n % 2 == 1 ? latencies[n / 2] : (latencies[n / 2 - 1] + latencies[n / 2]) / 2;
  result.max_release = latencies.back();
  return result;
}

}  // namespace

absl::StatusOr<BarrierBenchResult> RunBarrierBench(const BarrierBenchOptions& options) {
  return BarrierBench(options).Run();
}

std::string FormatBarrierBenchResult(const BarrierBenchOptions& options,
                                     const BarrierBenchResult& result, bool json) {
  if (json) {
    std::string rounds;
    for (const auto& r : result.rounds) {
      absl::StrAppend(&rounds, rounds.empty() ? "" : ", ",
                      absl::StrFormat("{\"round\": %d, \"release_ms\": %s, "
                                      "\"first_response_ms\": %s, "
                                      "\"sent_monotonic_seconds\": %.6f}",
                                      r.round, FormatMillis(r.release_latency),
                                      FormatMillis(r.first_response), r.sent_monotonic_seconds));
    }
    return absl::StrFormat(
        "{\"mode\": \"%s\", \"target\": \"%s\", \"job\": \"%s\", \"workers\": %d, "
        "\"channels\": %d, "
        "\"register_seconds\": %.6f, \"median_release_ms\": %s, \"max_release_ms\": %s, "
        "\"rounds\": [%s]}",
        LoadModeName(options.mode), options.target,
        options.mode == LoadMode::kEcho ? "" : options.job, options.workers, options.channels,
        absl::ToDoubleSeconds(result.register_elapsed), FormatMillis(result.median_release),
        FormatMillis(result.max_release), rounds);
  }
  std::string out = options.mode == LoadMode::kEcho
                        ? absl::StrFormat(
                              "ebsp-barrier-bench: %d parties on the echo server's Park at %s "
                              "(%d channels)\n",
                              options.workers, options.target, options.channels)
                        : absl::StrFormat(
                              "ebsp-barrier-bench: %d workers in BSP job %s at %s (%d "
                              "channels), registered in %.3f s\n",
                              options.workers, options.job, options.target, options.channels,
                              absl::ToDoubleSeconds(result.register_elapsed));
  for (const auto& r : result.rounds) {
    absl::StrAppendFormat(&out,
                          "  round %d: all %d released %s ms after the last arrival was "
                          "sent (first response after %s ms)\n",
                          r.round, options.workers, FormatMillis(r.release_latency),
                          FormatMillis(r.first_response));
  }
  absl::StrAppendFormat(&out, "  release latency: median %s ms, max %s ms over %d rounds\n",
                        FormatMillis(result.median_release), FormatMillis(result.max_release),
                        result.rounds.size());
  return out;
}

}  // namespace ebsp::loadgen
