// Settings of a coordinator instance; main.cc fills them from flags, tests
// build them directly.
#ifndef EBSP_SERVICE_SERVER_OPTIONS_H_
#define EBSP_SERVICE_SERVER_OPTIONS_H_

#include <string>

#include "absl/time/time.h"
#include "lib/core/job/job_state.h"
#include "lib/core/policy/policy_config.h"
#include "service/auth/admin_authorizer.h"
#include "service/ha/ha_options.h"
#include "service/limits/peer_rate_limiter.h"
#include "service/tls/tls_options.h"

namespace ebsp::server {

struct ServerOptions {
  std::string listen_address = "0.0.0.0:50051";
  std::string metrics_address = "0.0.0.0:9464";
  // Plaintext unless tls.cert_file is set (service/tls/).
  TlsOptions tls;
  // Who may administer jobs (service/auth/admin_authorizer.h); its
  // self_service_jobs follows auto_create_jobs. Default: loopback only.
  auth::AdminOptions admin;
  // Requests per second and burst per client connection
  // (service/limits/peer_rate_limiter.h); rate 0 turns it off.
  limits::RateLimit peer_rate = {10000, 20000};
  // Open StreamReports streams per job (counted from their first report);
  // 0 means the job's max_workers (one stream per worker).
  int max_streams_per_job = 0;
  core::PolicyConfig default_policy;  // ebsp:R=15
  absl::Duration heartbeat_timeout = core::kDefaultHeartbeatTimeout;
  absl::Duration barrier_deadline = absl::Seconds(600);
  int max_jobs = 100;
  int max_workers_per_job = core::kDefaultMaxWorkersPerJob;
  bool auto_create_jobs = true;
  int max_worker_series = 64;
  absl::Duration tick_interval = absl::Milliseconds(100);
  // Largest request accepted; reports are tens of bytes.
  int max_receive_message_bytes = 64 * 1024;
  // How long Shutdown lets in-flight calls finish before cancelling them.
  // Parked waits are finished before this starts and a unary handler takes
  // microseconds, so this is short; gRPC would otherwise also wait the whole
  // period for idle client connections (a sync client without a call in
  // flight reads the GOAWAY only at its next backup poll, every 5 s).
  absl::Duration shutdown_grace = absl::Milliseconds(250);
  // High availability on etcd; off (a single process) by default.
  ha::HaOptions ha;
  // Where jobs are kept across restarts (service/store/file_job_store.h);
  // empty: nothing is kept (jobs and workers are lost at a restart).
  std::string state_dir;
  // After a restart, how long a restored job's first barrier waits for the
  // workers that were live before it (the restart hold; docs/restart.md).
  absl::Duration restart_grace = absl::Seconds(30);
  // A job's roster (its live names) is written at most this often.
  absl::Duration roster_write_interval = absl::Seconds(1);
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_SERVER_OPTIONS_H_
