#include "service/metrics.h"

#include <prometheus/histogram.h>

#include <utility>

namespace ebsp::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Bucket bounds from `start` growing by `factor`, `count` of them.
Histogram::BucketBoundaries Exponential(double start, double factor, int count) {
  Histogram::BucketBoundaries bounds;
  bounds.reserve(count);
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

// Iteration and barrier times: 1 ms .. ~4.5 min.
const Histogram::BucketBoundaries& SecondsBuckets() {
  static const auto* bounds = new Histogram::BucketBoundaries(Exponential(0.001, 2.0, 19));
  return *bounds;
}
// Planning: 10 us .. ~10 s.
const Histogram::BucketBoundaries& PlanningBuckets() {
  static const auto* bounds = new Histogram::BucketBoundaries(Exponential(1e-5, 2.0, 21));
  return *bounds;
}
// RPC handling: 25 us .. ~14 min (Barrier includes the wait).
const Histogram::BucketBoundaries& RpcBuckets() {
  static const auto* bounds = new Histogram::BucketBoundaries(Exponential(2.5e-5, 2.5, 20));
  return *bounds;
}

const char* CodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  return kNames[code];
}

}  // namespace

const char* RpcMethodName(RpcMethod method) {
  switch (method) {
    case RpcMethod::kCreateJob:
      return "CreateJob";
    case RpcMethod::kGetJob:
      return "GetJob";
    case RpcMethod::kListJobs:
      return "ListJobs";
    case RpcMethod::kUpdatePolicy:
      return "UpdatePolicy";
    case RpcMethod::kDeleteJob:
      return "DeleteJob";
    case RpcMethod::kRegister:
      return "Register";
    case RpcMethod::kReportIteration:
      return "ReportIteration";
    case RpcMethod::kStreamReports:
      return "StreamReports";
    case RpcMethod::kBarrier:
      return "Barrier";
    case RpcMethod::kWaitForClock:
      return "WaitForClock";
    case RpcMethod::kHeartbeat:
      return "Heartbeat";
    case RpcMethod::kLeave:
      return "Leave";
  }
  return "unknown";
}

Metrics::Metrics(int max_worker_series)
    : registry_(std::make_shared<prometheus::Registry>()),
      max_worker_series_(max_worker_series),
      job_live_workers_(BuildGauge()
                            .Name("ebsp_job_live_workers")
                            .Help("Workers registered and not evicted or left")
                            .Register(*registry_)),
      job_round_(
          BuildGauge().Name("ebsp_job_round").Help("Current round number").Register(*registry_)),
      job_rounds_total_(BuildCounter()
                            .Name("ebsp_job_rounds_total")
                            .Help("Barriers released")
                            .Register(*registry_)),
      job_membership_epoch_(BuildGauge()
                                .Name("ebsp_job_membership_epoch")
                                .Help("Bumps on join, leave and eviction")
                                .Register(*registry_)),
      worker_target_(BuildGauge()
                         .Name("ebsp_worker_target")
                         .Help("Current target k_i of a worker slot")
                         .Register(*registry_)),
      iteration_seconds_(BuildHistogram()
                             .Name("ebsp_iteration_seconds")
                             .Help("Worker-reported compute time per iteration")
                             .Register(*registry_)),
      iterations_total_(BuildCounter()
                            .Name("ebsp_iterations_total")
                            .Help("Iterations reported")
                            .Register(*registry_)),
      barrier_wait_seconds_(BuildHistogram()
                                .Name("ebsp_barrier_wait_seconds")
                                .Help("Actual wait of each worker at each barrier")
                                .Register(*registry_)),
      round_wait_total_(BuildCounter()
                            .Name("ebsp_round_wait_seconds_total")
                            .Help("Sum of actual barrier waits")
                            .Register(*registry_)),
      round_predicted_wait_total_(BuildCounter()
                                      .Name("ebsp_round_predicted_wait_seconds_total")
                                      .Help("Sum of the waits ZipLine predicted")
                                      .Register(*registry_)),
      idle_fraction_(BuildGauge()
                         .Name("ebsp_job_idle_fraction")
                         .Help("Wait time over live worker time since the job began")
                         .Register(*registry_)),
      staleness_(BuildGauge()
                     .Name("ebsp_job_staleness_iterations")
                     .Help("Iterations since the last point all live workers shared "
                           "(rounds: since the barrier; ASP/SSP: clock lead)")
                     .Register(*registry_)),
      planning_seconds_(BuildHistogram()
                            .Name("ebsp_planning_seconds")
                            .Help("Wall time of events that ran ZipLine")
                            .Register(*registry_)),
      straggler_ratio_(BuildGauge()
                           .Name("ebsp_straggler_ratio")
                           .Help("Recent iteration time of the job's k slowest workers (rank 1 = "
                                 "slowest) over the job's median")
                           .Register(*registry_)),
      straggler_seconds_(BuildGauge()
                             .Name("ebsp_straggler_iteration_seconds")
                             .Help("Recent iteration time of the job's k slowest workers")
                             .Register(*registry_)),
      evictions_total_(BuildCounter()
                           .Name("ebsp_evictions_total")
                           .Help("Evictions by reason")
                           .Register(*registry_)),
      registrations_total_(BuildCounter()
                               .Name("ebsp_registrations_total")
                               .Help("Successful Register calls")
                               .Register(*registry_)),
      barrier_waiting_calls_(BuildGauge()
                                 .Name("ebsp_barrier_waiting_calls")
                                 .Help("Barrier/WaitForClock calls now waiting")
                                 .Register(*registry_)),
      barrier_oldest_wait_(BuildGauge()
                               .Name("ebsp_barrier_oldest_wait_seconds")
                               .Help("Age of the oldest waiting call (0 if none)")
                               .Register(*registry_)),
      rpc_total_(BuildCounter()
                     .Name("ebsp_rpc_total")
                     .Help("Finished RPCs by method and gRPC status code")
                     .Register(*registry_)),
      rpc_latency_(BuildHistogram()
                       .Name("ebsp_rpc_latency_seconds")
                       .Help("RPC handling latency (Barrier/WaitForClock include the wait)")
                       .Register(*registry_)) {
  BuildGauge()
      .Name("ebsp_build_info")
      .Help("Always 1; the version label names the build")
      .Register(*registry_)
      .Add({{"version", kVersion}})
      .Set(1);
  auto& limited =
      BuildCounter()
          .Name("ebsp_limited_requests_total")
          .Help("Calls refused with RESOURCE_EXHAUSTED by a limit against runaway clients")
          .Register(*registry_);
  limited_[static_cast<int>(Limit::kPeerRate)] = &limited.Add({{"limit", "peer_rate"}});
  limited_[static_cast<int>(Limit::kJobStreams)] = &limited.Add({{"limit", "job_streams"}});
  jobs_ = &BuildGauge().Name("ebsp_jobs").Help("Jobs that exist").Register(*registry_).Add({});
  for (int m = 0; m < kRpcMethodCount; ++m) {
    rpc_latency_by_method_[m] =
        &rpc_latency_.Add({{"method", RpcMethodName(static_cast<RpcMethod>(m))}}, RpcBuckets());
    for (auto& counter : rpc_counters_[m]) counter.store(nullptr);
  }
}

void Metrics::RecordRpc(RpcMethod method, grpc::StatusCode code, absl::Duration latency) {
  const int m = static_cast<int>(method);
  int c = static_cast<int>(code);
  if (c < 0 || c >= kCodeCount) c = static_cast<int>(grpc::StatusCode::UNKNOWN);
  std::atomic<prometheus::Counter*>& slot = rpc_counters_[m][c];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add returns the existing series for equal labels, so two
    // threads racing here end up with the same pointer.
    counter = &rpc_total_.Add({{"method", RpcMethodName(method)}, {"code", CodeName(c)}});
    slot.store(counter, std::memory_order_release);
  }
  counter->Increment();
  rpc_latency_by_method_[m]->Observe(absl::ToDoubleSeconds(latency));
}

std::unique_ptr<JobMetrics> Metrics::AddJob(const std::string& job) {
  return std::unique_ptr<JobMetrics>(new JobMetrics(this, job, max_worker_series_));
}

JobMetrics::JobMetrics(Metrics* owner, std::string job, int max_worker_slots)
    : owner_(owner),
      job_(std::move(job)),
      worker_target_(static_cast<size_t>(max_worker_slots > 0 ? max_worker_slots : 0)) {
  const prometheus::Labels labels = {{kJobLabel, job_}};
  live_workers_ = &owner_->job_live_workers_.Add(labels);
  round_ = &owner_->job_round_.Add(labels);
  rounds_total_ = &owner_->job_rounds_total_.Add(labels);
  membership_epoch_ = &owner_->job_membership_epoch_.Add(labels);
  iteration_seconds_ = &owner_->iteration_seconds_.Add(labels, SecondsBuckets());
  iterations_total_ = &owner_->iterations_total_.Add(labels);
  barrier_wait_seconds_ = &owner_->barrier_wait_seconds_.Add(labels, SecondsBuckets());
  round_wait_total_ = &owner_->round_wait_total_.Add(labels);
  round_predicted_wait_total_ = &owner_->round_predicted_wait_total_.Add(labels);
  idle_fraction_ = &owner_->idle_fraction_.Add(labels);
  staleness_ = &owner_->staleness_.Add(labels);
  planning_seconds_ = &owner_->planning_seconds_.Add(labels, PlanningBuckets());
  evictions_lease_expired_ =
      &owner_->evictions_total_.Add({{kJobLabel, job_}, {"reason", "lease_expired"}});
  registrations_total_ = &owner_->registrations_total_.Add(labels);
  barrier_waiting_calls_ = &owner_->barrier_waiting_calls_.Add(labels);
  barrier_oldest_wait_ = &owner_->barrier_oldest_wait_.Add(labels);
  for (auto& slot : worker_target_) slot.store(nullptr);
}

JobMetrics::~JobMetrics() {
  for (StragglerSeries& series : stragglers_) RemoveStraggler(series);
  owner_->job_live_workers_.Remove(live_workers_);
  owner_->job_round_.Remove(round_);
  owner_->job_rounds_total_.Remove(rounds_total_);
  owner_->job_membership_epoch_.Remove(membership_epoch_);
  owner_->iteration_seconds_.Remove(iteration_seconds_);
  owner_->iterations_total_.Remove(iterations_total_);
  owner_->barrier_wait_seconds_.Remove(barrier_wait_seconds_);
  owner_->round_wait_total_.Remove(round_wait_total_);
  owner_->round_predicted_wait_total_.Remove(round_predicted_wait_total_);
  owner_->idle_fraction_.Remove(idle_fraction_);
  owner_->staleness_.Remove(staleness_);
  owner_->planning_seconds_.Remove(planning_seconds_);
  owner_->evictions_total_.Remove(evictions_lease_expired_);
  owner_->registrations_total_.Remove(registrations_total_);
  owner_->barrier_waiting_calls_.Remove(barrier_waiting_calls_);
  owner_->barrier_oldest_wait_.Remove(barrier_oldest_wait_);
  for (auto& slot : worker_target_) {
    if (prometheus::Gauge* gauge = slot.load(); gauge != nullptr) {
      owner_->worker_target_.Remove(gauge);
    }
  }
}

void JobMetrics::SetWorkerTarget(int slot, double target) {
  if (slot < 0 || slot >= max_worker_slots()) return;
  std::atomic<prometheus::Gauge*>& cell = worker_target_[slot];
  prometheus::Gauge* gauge = cell.load(std::memory_order_acquire);
  if (gauge == nullptr) {
    absl::MutexLock lock(&slot_mu_);
    gauge = cell.load(std::memory_order_acquire);
    if (gauge == nullptr) {
      gauge =
          &owner_->worker_target_.Add({{kJobLabel, job_}, {"worker", "w" + std::to_string(slot)}});
      cell.store(gauge, std::memory_order_release);
    }
  }
  gauge->Set(target);
}

void JobMetrics::RemoveStraggler(StragglerSeries& series) {
  if (series.ratio != nullptr) owner_->straggler_ratio_.Remove(series.ratio);
  if (series.seconds != nullptr) owner_->straggler_seconds_.Remove(series.seconds);
  series = StragglerSeries();
}

void JobMetrics::SetStragglers(const std::vector<core::Straggler>& slowest) {
  stragglers_.resize(kStragglerSeries);
  for (int rank = 0; rank < kStragglerSeries; ++rank) {
    StragglerSeries& series = stragglers_[rank];
    if (static_cast<size_t>(rank) >= slowest.size()) {
      RemoveStraggler(series);
      continue;
    }
    const core::Straggler& s = slowest[rank];
    if (series.ratio == nullptr || series.worker != s.name) {
      RemoveStraggler(series);
      const prometheus::Labels labels = {
          {kJobLabel, job_}, {"rank", std::to_string(rank + 1)}, {"worker", s.name}};
      series.worker = s.name;
      series.ratio = &owner_->straggler_ratio_.Add(labels);
      series.seconds = &owner_->straggler_seconds_.Add(labels);
    }
    series.ratio->Set(s.ratio_to_median);
    series.seconds->Set(absl::ToDoubleSeconds(s.interval));
  }
}

}  // namespace ebsp::server
