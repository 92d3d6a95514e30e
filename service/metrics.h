// The coordinator's Prometheus metrics, exactly the set in docs/metrics.md.
//
// Metrics owns the registry and the process-wide series (build info, job
// count, RPCs). Each job gets a JobMetrics at creation, whose series exist
// (reading 0) from then on and are removed from the registry when the
// JobMetrics is destroyed (DeleteJob). Label values are bounded:
// `training_job` by --max_jobs, `worker` by the slot index
// w0..w{max_worker_series-1}, never a client-supplied name. All methods are
// thread-safe (prometheus-cpp metrics are); the exposer that serves them over
// HTTP lives in the server.
#ifndef EBSP_SERVICE_METRICS_H_
#define EBSP_SERVICE_METRICS_H_

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/job/stragglers.h"

namespace ebsp::server {

// From the repository's VERSION file, through CMake (service/CMakeLists.txt).
inline constexpr char kVersion[] = EBSP_VERSION;

// The label naming the training job on every per-job series. Not `job`:
// Prometheus sets `job` to the scrape job on every series it ingests, so a
// `job` label of ours would be renamed `exported_job`, or, with honor_labels,
// would overwrite the scrape job's name on our series.
inline constexpr char kJobLabel[] = "training_job";

// Series per job of the straggler view (ebsp_straggler_*, docs/metrics.md):
// the k slowest workers, ranks 1..k, so the series count stays bounded.
inline constexpr int kStragglerSeries = 3;

enum class RpcMethod {
  kCreateJob,
  kGetJob,
  kListJobs,
  kUpdatePolicy,
  kDeleteJob,
  kRegister,
  kReportIteration,
  kStreamReports,
  kBarrier,
  kWaitForClock,
  kHeartbeat,
  kLeave,
};
inline constexpr int kRpcMethodCount = 12;
const char* RpcMethodName(RpcMethod method);

// The limits that refuse a call with RESOURCE_EXHAUSTED (service/limits/).
enum class Limit { kPeerRate = 0, kJobStreams = 1 };
inline constexpr int kLimitCount = 2;

class Metrics;

// The series of one job. Created by Metrics::AddJob; removes its series on
// destruction.
class JobMetrics {
 public:
  ~JobMetrics();
  JobMetrics(const JobMetrics&) = delete;
  JobMetrics& operator=(const JobMetrics&) = delete;

  prometheus::Gauge& live_workers() { return *live_workers_; }
  prometheus::Gauge& round() { return *round_; }
  prometheus::Counter& rounds_total() { return *rounds_total_; }
  prometheus::Gauge& membership_epoch() { return *membership_epoch_; }
  prometheus::Histogram& iteration_seconds() { return *iteration_seconds_; }
  prometheus::Counter& iterations_total() { return *iterations_total_; }
  prometheus::Histogram& barrier_wait_seconds() { return *barrier_wait_seconds_; }
  prometheus::Counter& round_wait_seconds_total() { return *round_wait_total_; }
  prometheus::Counter& round_predicted_wait_seconds_total() { return *round_predicted_wait_total_; }
  prometheus::Gauge& idle_fraction() { return *idle_fraction_; }
  prometheus::Gauge& staleness_iterations() { return *staleness_; }
  prometheus::Histogram& planning_seconds() { return *planning_seconds_; }
  prometheus::Counter& evictions_lease_expired() { return *evictions_lease_expired_; }
  prometheus::Counter& registrations_total() { return *registrations_total_; }
  prometheus::Gauge& barrier_waiting_calls() { return *barrier_waiting_calls_; }
  prometheus::Gauge& barrier_oldest_wait_seconds() { return *barrier_oldest_wait_; }

  // Sets the target gauge of worker slot `slot` (0 <= slot < max slots),
  // creating the series on first use. Out-of-range slots are ignored: their
  // workers have no series by design.
  void SetWorkerTarget(int slot, double target);
  int max_worker_slots() const { return static_cast<int>(worker_target_.size()); }

  // Shows `slowest` (slowest first; at most kStragglerSeries are used) as
  // ebsp_straggler_ratio / ebsp_straggler_iteration_seconds{rank, worker};
  // a rank whose worker changed gets a new series, an unused rank none.
  // Called by the job's gauge refresh (about once a second), never per report.
  void SetStragglers(const std::vector<core::Straggler>& slowest);

 private:
  friend class Metrics;
  struct StragglerSeries {
    std::string worker;
    prometheus::Gauge* ratio = nullptr;
    prometheus::Gauge* seconds = nullptr;
  };
  void RemoveStraggler(StragglerSeries& series);

  JobMetrics(Metrics* owner, std::string job, int max_worker_slots);

  Metrics* const owner_;
  const std::string job_;
  prometheus::Gauge* live_workers_;
  prometheus::Gauge* round_;
  prometheus::Counter* rounds_total_;
  prometheus::Gauge* membership_epoch_;
  prometheus::Histogram* iteration_seconds_;
  prometheus::Counter* iterations_total_;
  prometheus::Histogram* barrier_wait_seconds_;
  prometheus::Counter* round_wait_total_;
  prometheus::Counter* round_predicted_wait_total_;
  prometheus::Gauge* idle_fraction_;
  prometheus::Gauge* staleness_;
  prometheus::Histogram* planning_seconds_;
  prometheus::Counter* evictions_lease_expired_;
  prometheus::Counter* registrations_total_;
  prometheus::Gauge* barrier_waiting_calls_;
  prometheus::Gauge* barrier_oldest_wait_;
  // Slot series are created lazily; the pointer is published once.
  std::vector<std::atomic<prometheus::Gauge*>> worker_target_;
  absl::Mutex slot_mu_;  // Serializes creation of slot series.
  // Rank r+1's series; only touched under the owning job's lock.
  std::vector<StragglerSeries> stragglers_;
};

class Metrics {
 public:
  explicit Metrics(int max_worker_series);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  std::unique_ptr<JobMetrics> AddJob(const std::string& job);
  void SetJobCount(int jobs) { jobs_->Set(jobs); }

  // Counts one finished RPC and its handling latency.
  void RecordRpc(RpcMethod method, grpc::StatusCode code, absl::Duration latency);
  // Counts one call refused by `limit`.
  void RecordLimited(Limit limit) { limited_[static_cast<int>(limit)]->Increment(); }

 private:
  friend class JobMetrics;

  std::shared_ptr<prometheus::Registry> registry_;
  const int max_worker_series_;
  prometheus::Gauge* jobs_;
  prometheus::Family<prometheus::Gauge>& job_live_workers_;
  prometheus::Family<prometheus::Gauge>& job_round_;
  prometheus::Family<prometheus::Counter>& job_rounds_total_;
  prometheus::Family<prometheus::Gauge>& job_membership_epoch_;
  prometheus::Family<prometheus::Gauge>& worker_target_;
  prometheus::Family<prometheus::Histogram>& iteration_seconds_;
  prometheus::Family<prometheus::Counter>& iterations_total_;
  prometheus::Family<prometheus::Histogram>& barrier_wait_seconds_;
  prometheus::Family<prometheus::Counter>& round_wait_total_;
  prometheus::Family<prometheus::Counter>& round_predicted_wait_total_;
  prometheus::Family<prometheus::Gauge>& idle_fraction_;
  prometheus::Family<prometheus::Gauge>& staleness_;
  prometheus::Family<prometheus::Histogram>& planning_seconds_;
  prometheus::Family<prometheus::Gauge>& straggler_ratio_;
  prometheus::Family<prometheus::Gauge>& straggler_seconds_;
  prometheus::Family<prometheus::Counter>& evictions_total_;
  prometheus::Family<prometheus::Counter>& registrations_total_;
  prometheus::Family<prometheus::Gauge>& barrier_waiting_calls_;
  prometheus::Family<prometheus::Gauge>& barrier_oldest_wait_;
  prometheus::Family<prometheus::Counter>& rpc_total_;
  prometheus::Family<prometheus::Histogram>& rpc_latency_;

  // 17 gRPC status codes per method; series are created on first use so
  // /metrics does not list hundreds of zero series.
  static constexpr int kCodeCount = 17;
  std::array<std::array<std::atomic<prometheus::Counter*>, kCodeCount>, kRpcMethodCount>
      rpc_counters_{};
  std::array<prometheus::Histogram*, kRpcMethodCount> rpc_latency_by_method_{};
  std::array<prometheus::Counter*, kLimitCount> limited_{};
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_METRICS_H_
