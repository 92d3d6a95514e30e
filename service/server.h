// CoordinatorServer: one running coordinator: the gRPC server (callback
// Coordinator service, health checking, reflection), the Prometheus exposer
// and the ticker thread.
//
//   absl::StatusOr<std::unique_ptr<CoordinatorServer>> server =
//       CoordinatorServer::Start(options);
//   ... (*server)->grpc_port(), (*server)->metrics_port() ...
//   (*server)->Shutdown();  // bounded; waiting calls end with UNAVAILABLE.
//
// Ports 0 in the addresses let the kernel pick; the chosen ones are reported.
// Thread-safe: Shutdown may be called from any thread, more than once.
#ifndef EBSP_SERVICE_SERVER_H_
#define EBSP_SERVICE_SERVER_H_

#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/clock.h"
#include "service/coordinator_service.h"
#include "service/ha/election_backend.h"
#include "service/ha/etcd_client.h"
#include "service/ha/etcd_job_store.h"
#include "service/ha/ha_metrics.h"
#include "service/ha/leader_elector.h"
#include "service/metrics.h"
#include "service/server_options.h"
#include "service/store/job_store.h"
#include "service/ticker.h"

namespace ebsp::server {

class CoordinatorServer {
 public:
  // `clock` defaults to a MonotonicClock; a given one must outlive the
  // server. UNAVAILABLE if an address cannot be bound; with a state_dir,
  // the store's error (naming the file and why) if the stored jobs cannot
  // be loaded.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(const ServerOptions& options,
                                                                  const Clock* clock = nullptr);
  ~CoordinatorServer();  // Shuts down.
  CoordinatorServer(const CoordinatorServer&) = delete;
  CoordinatorServer& operator=(const CoordinatorServer&) = delete;

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }

  // Finishes every waiting call with UNAVAILABLE, stops accepting calls,
  // cancels what is still running after the grace period, and stops the
  // ticker and the exposer. With HA it first resigns the leadership, so a
  // standby takes over without waiting for the lease to expire.
  void Shutdown();

  // With HA: whether this replica leads now (always true without HA).
  bool IsLeader() const { return elector_ == nullptr || elector_->IsLeader(); }

 private:
  CoordinatorServer() = default;
  void StopExposer();
  // HA only: joins the election once the gRPC port is known.
  absl::Status StartElection(const Clock* clock);
  absl::Status OnElected();
  void OnDeposed();
  void SetCoordinatorServing(bool serving);

  std::unique_ptr<MonotonicClock> owned_clock_;
  std::unique_ptr<Metrics> metrics_;
  // Null without --state_dir or HA; with HA an ha::EtcdJobStore.
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Ticker> ticker_;
  std::unique_ptr<ha::HaMetrics> ha_metrics_;
  // HA only (null otherwise); the elector is stopped before the rest.
  std::unique_ptr<ha::EtcdClient> etcd_;
  std::unique_ptr<ha::ElectionBackend> election_backend_;
  std::unique_ptr<ha::LeaderElector> elector_;
  ha::EtcdJobStore* etcd_store_ = nullptr;  // store_ itself with HA, else null.
  ServerOptions options_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_SERVER_H_
