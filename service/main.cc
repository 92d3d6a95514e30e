// ebsp-coordinator: the ElasticBSP coordinator gRPC server.
// Flags, ports and signals: service/README.md.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/cli/usage.h"
#include "lib/core/policy/policy_config.h"
#include "lib/log/log.h"
#include "lib/log/log_flags.h"
#include "service/metrics.h"
#include "service/server.h"
#include "service/tls/server_credentials.h"

ABSL_FLAG(std::string, listen_address, "0.0.0.0:50051",
          "gRPC address; port 0 lets the kernel pick (see --ready_file)");
ABSL_FLAG(std::string, metrics_address, "0.0.0.0:9464",
          "Prometheus /metrics address; port 0 lets the kernel pick");
ABSL_FLAG(std::string, ready_file, "",
          "Once serving, atomically write {\"grpc_port\": N, \"metrics_port\": M} here");
ABSL_FLAG(std::string, default_policy, "ebsp:R=15",
          "Policy of jobs that do not name one (bsp, asp, ssp:s=3, dssp:s=3,r=12, local:H=4, "
          "ebsp:R=15[,objective=...][,predictor=...])");
ABSL_FLAG(absl::Duration, heartbeat_timeout, absl::Seconds(10),
          "A worker silent longer than this is evicted (jobs may override)");
ABSL_FLAG(absl::Duration, barrier_deadline, absl::Seconds(600),
          "Longest Barrier/WaitForClock wait before DEADLINE_EXCEEDED");
ABSL_FLAG(int, max_jobs, 100, "Most jobs at once");
ABSL_FLAG(int, max_workers_per_job, 10000, "Most workers in one job");
ABSL_FLAG(bool, auto_create_jobs, true,
          "Register of an unknown job creates it (policy_if_created or the default)");
ABSL_FLAG(int, max_worker_series, 64, "Per-job worker slots with an ebsp_worker_target series");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM server certificate chain: serve TLS (empty: plaintext, for local development)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle that client certificates are verified against (mutual TLS)");
ABSL_FLAG(bool, tls_require_client_cert, false,
          "Refuse clients without a certificate signed by --tls_client_ca");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(10),
          "How often the TLS files are read again (certificate rotation), 1s to 24h");
ABSL_FLAG(std::string, admin_token_file, "",
          "File holding the admin token (>= 16 bytes) that CreateJob/UpdatePolicy/DeleteJob "
          "accept as 'authorization: Bearer <token>'. With neither this nor --admin_identities, "
          "job administration is allowed only from loopback");
ABSL_FLAG(std::vector<std::string>, admin_identities, {},
          "Comma-separated client certificate identities (SAN or CN) that may administer every "
          "job (needs --tls_client_ca)");
ABSL_FLAG(double, peer_rate_limit, 10000,
          "Requests per second one client connection may send (0: no limit); beyond it "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(double, peer_rate_burst, 20000, "Requests a connection may send at once");
ABSL_FLAG(int, max_streams_per_job, 0,
          "Open StreamReports streams per job (0: --max_workers_per_job)");
ABSL_FLAG(absl::Duration, tick_interval, absl::Milliseconds(100),
          "How often leases and barrier deadlines are checked");
ABSL_FLAG(std::string, ha_etcd_endpoints, "",
          "High availability (docs/ha.md): etcd client URLs, comma-separated "
          "(host:port, http:// or https://). Empty: a single coordinator, no etcd");
ABSL_FLAG(std::string, ha_etcd_prefix, "/ebsp",
          "etcd key prefix shared by the replicas of one coordinator: <prefix>/leader is the "
          "leadership, <prefix>/jobs/ the jobs (the job store with HA)");
ABSL_FLAG(absl::Duration, ha_lease_ttl, absl::Seconds(5),
          "Leader lease TTL (whole seconds, >= 1); a failover takes about this plus 2 s");
ABSL_FLAG(std::string, ha_advertise_address, "",
          "host:port workers use to reach this replica when it leads (a standby names it). "
          "Empty: the --listen_address host (127.0.0.1 for 0.0.0.0) and the bound port");
ABSL_FLAG(std::string, ha_etcd_ca_file, "", "PEM CA bundle for TLS to etcd");
ABSL_FLAG(std::string, ha_etcd_cert_file, "", "PEM client certificate for etcd (mutual TLS)");
ABSL_FLAG(std::string, ha_etcd_key_file, "", "PEM private key of --ha_etcd_cert_file");
ABSL_FLAG(std::string, state_dir, "",
          "Directory where jobs (spec, token hash, worker roster) are kept across restarts; "
          "empty keeps nothing. Not with --ha_etcd_endpoints (jobs are kept in etcd then). "
          "See docs/restart.md");
ABSL_FLAG(absl::Duration, restart_grace, absl::Seconds(30),
          "After a restart, how long a restored job's first barrier waits for the workers "
          "that were live before it");

namespace ebsp::server {
namespace {

// How job administration is guarded, for the start line: "loopback_only"
// (no admin credential configured: remote peers cannot administer),
// "token", "identities" or "token+identities".
std::string AdminModeName(const ServerOptions& options) {
  const bool token = !options.admin.admin_token_file.empty();
  const bool identities = !options.admin.admin_identities.empty();
  if (token && identities) return "token+identities";
  if (token) return "token";
  return identities ? "identities" : "loopback_only";
}

absl::StatusOr<ServerOptions> OptionsFromFlags() {
  ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen_address);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  absl::StatusOr<core::PolicyConfig> policy =
      core::ParsePolicy(absl::GetFlag(FLAGS_default_policy));
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--default_policy: ", policy.status().message()));
  }
  options.default_policy = *policy;
  auto positive = [](const char* name, absl::Duration d) -> absl::Status {
    if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, "=", absl::FormatDuration(d), " must be positive and finite"));
    }
    return absl::OkStatus();
  };
  options.heartbeat_timeout = absl::GetFlag(FLAGS_heartbeat_timeout);
  options.barrier_deadline = absl::GetFlag(FLAGS_barrier_deadline);
  options.tick_interval = absl::GetFlag(FLAGS_tick_interval);
  for (auto [name, d] : {std::pair{"heartbeat_timeout", options.heartbeat_timeout},
                         std::pair{"barrier_deadline", options.barrier_deadline},
                         std::pair{"tick_interval", options.tick_interval}}) {
    if (absl::Status s = positive(name, d); !s.ok()) return s;
  }
  options.max_jobs = absl::GetFlag(FLAGS_max_jobs);
  options.max_workers_per_job = absl::GetFlag(FLAGS_max_workers_per_job);
  options.max_worker_series = absl::GetFlag(FLAGS_max_worker_series);
  for (auto [name, v] : {std::pair{"max_jobs", options.max_jobs},
                         std::pair{"max_workers_per_job", options.max_workers_per_job}}) {
    if (v < 1) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, "=", v, " must be >= 1"));
    }
  }
  if (options.max_worker_series < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_worker_series=", options.max_worker_series, " must be >= 0"));
  }
  options.auto_create_jobs = absl::GetFlag(FLAGS_auto_create_jobs);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.tls.require_client_cert = absl::GetFlag(FLAGS_tls_require_client_cert);
  options.tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  options.admin.admin_token_file = absl::GetFlag(FLAGS_admin_token_file);
  options.admin.admin_identities = absl::GetFlag(FLAGS_admin_identities);
  options.peer_rate.requests_per_second = absl::GetFlag(FLAGS_peer_rate_limit);
  options.peer_rate.burst = absl::GetFlag(FLAGS_peer_rate_burst);
  options.max_streams_per_job = absl::GetFlag(FLAGS_max_streams_per_job);
  if (!(options.peer_rate.requests_per_second >= 0) ||
      (options.peer_rate.requests_per_second > 0 && !(options.peer_rate.burst >= 1)) ||
      options.max_streams_per_job < 0) {
    return absl::InvalidArgumentError(
        "--peer_rate_limit must be >= 0, --peer_rate_burst >= 1, --max_streams_per_job >= 0");
  }
  options.ha.etcd_endpoints = absl::GetFlag(FLAGS_ha_etcd_endpoints);
  options.ha.etcd_prefix = absl::GetFlag(FLAGS_ha_etcd_prefix);
  options.ha.lease_ttl = absl::GetFlag(FLAGS_ha_lease_ttl);
  options.ha.advertise_address = absl::GetFlag(FLAGS_ha_advertise_address);
  options.ha.etcd_ca_file = absl::GetFlag(FLAGS_ha_etcd_ca_file);
  options.ha.etcd_cert_file = absl::GetFlag(FLAGS_ha_etcd_cert_file);
  options.ha.etcd_key_file = absl::GetFlag(FLAGS_ha_etcd_key_file);
  if (options.ha.enabled()) {
    if (options.ha.lease_ttl < absl::Seconds(1) ||
        options.ha.lease_ttl != absl::Trunc(options.ha.lease_ttl, absl::Seconds(1))) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ha_lease_ttl=", absl::FormatDuration(options.ha.lease_ttl),
                       " must be a whole number of seconds, at least 1s (etcd leases)"));
    }
    if (options.ha.etcd_prefix.empty() || options.ha.etcd_prefix.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("--ha_etcd_prefix=\"", options.ha.etcd_prefix, "\" must start with '/'"));
    }
    if (options.ha.etcd_cert_file.empty() != options.ha.etcd_key_file.empty()) {
      return absl::InvalidArgumentError("--ha_etcd_cert_file and --ha_etcd_key_file go together");
    }
  }
  options.state_dir = absl::GetFlag(FLAGS_state_dir);
  options.restart_grace = absl::GetFlag(FLAGS_restart_grace);
  if (options.restart_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--restart_grace=", absl::FormatDuration(options.restart_grace), " must be >= 0"));
  }
  return options;
}

// Written to a temporary name and renamed, so a reader never sees half a line.
absl::Status WriteReadyFile(const std::string& path, int grpc_port, int metrics_port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << absl::StrFormat("{\"grpc_port\": %d, \"metrics_port\": %d}\n", grpc_port, metrics_port);
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

int Main() {
  if (absl::Status s = log::ApplyLogFlags(); !s.ok()) {
    std::fprintf(stderr, "ebsp-coordinator: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  absl::StatusOr<ServerOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "ebsp-coordinator: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  // Every thread started from here on inherits the blocked set, so only
  // sigwait below sees SIGTERM/SIGINT.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server = CoordinatorServer::Start(*options);
  if (!server.ok()) {
    std::fprintf(stderr, "ebsp-coordinator: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  log::Event(log::Level::kInfo, "coordinator_started",
             {{"version", kVersion},
              {"grpc", options->listen_address},
              {"grpc_port", (*server)->grpc_port()},
              {"transport", TransportName(options->tls)},
              {"admin", AdminModeName(*options)},
              {"peer_rate_limit", options->peer_rate.requests_per_second},
              {"metrics", absl::StrCat("http://", options->metrics_address, "/metrics")},
              {"metrics_port", (*server)->metrics_port()},
              {"default_policy", options->default_policy.ToString()},
              {"state_dir", options->state_dir.empty() ? "none" : options->state_dir}});
  const std::string ready_file = absl::GetFlag(FLAGS_ready_file);
  if (!ready_file.empty()) {
    if (absl::Status s =
            WriteReadyFile(ready_file, (*server)->grpc_port(), (*server)->metrics_port());
        !s.ok()) {
      std::fprintf(stderr, "ebsp-coordinator: %s\n", std::string(s.message()).c_str());
      (*server)->Shutdown();
      return 1;
    }
  }
  int received = 0;
  sigwait(&signals, &received);
  log::Event(log::Level::kInfo, "shutdown_started",
             {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  const absl::Time shutdown_start = absl::Now();
  (*server)->Shutdown();
  log::Event(log::Level::kInfo, "coordinator_stopped",
             {{"shutdown_ms", absl::ToInt64Milliseconds(absl::Now() - shutdown_start)}});
  return 0;
}

}  // namespace
}  // namespace ebsp::server

int main(int argc, char** argv) {
  ebsp::cli::InitUsage("ebsp-coordinator",
                       "ElasticBSP coordinator: tells data-parallel training workers when to "
                       "synchronize. Flags, ports and signals: service/README.md.");
  absl::ParseCommandLine(argc, argv);
  // Debian's libabsl is built without NDEBUG, so every absl::Mutex lock
  // (gRPC's included) would also maintain a global deadlock graph: about a
  // fifth of the server's CPU per report (tools/loadgen/README.md). The
  // lock order is fixed by design (registry before job), so turn it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return ebsp::server::Main();
}
