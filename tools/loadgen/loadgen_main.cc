// ebsp-loadgen: ReportIteration throughput and latency of a coordinator (or
// of the echo baseline) under N simulated workers. See README.md.
//
//   ebsp-loadgen --target=127.0.0.1:50051 --mode=coordinator
//                --workers=1000 --duration=10s [--policy=asp] [--json]
//                [--churn_interval=5s --churn_workers=20 --lease=3s]
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/ebsp/policy_text.h"
#include "lib/cli/usage.h"
#include "tools/loadgen/grpc_util.h"
#include "tools/loadgen/report_load.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server host:port");
ABSL_FLAG(ebsp::loadgen::LoadMode, mode, ebsp::loadgen::LoadMode::kCoordinator,
          "coordinator (ReportIteration on ebsp-coordinator) or echo "
          "(Echo on ebsp-echo-server)");
ABSL_FLAG(int, workers, 1000, "simulated workers, each with one call in flight");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "length of the measured phase; 0 only registers the workers");
ABSL_FLAG(int64_t, max_requests, 0, "stop after this many reports (0: no limit)");
ABSL_FLAG(std::string, job, "", "job name (default: loadgen-<pid>)");
ABSL_FLAG(std::string, policy, "asp",
          "policy if Register creates the job; asp measures pure report "
          "throughput (nobody waits)");
ABSL_FLAG(int, concurrency, 0, "most reports in flight at once (0: one per worker)");
ABSL_FLAG(int, channels, 4, "gRPC channels (TCP connections) the workers share");
ABSL_FLAG(absl::Duration, compute, absl::Milliseconds(1),
          "compute time each simulated iteration reports");
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(10), "deadline of each call");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5),
          "give up when the target does not accept connections within this");
ABSL_FLAG(bool, leave, true, "Leave every worker at the end");
ABSL_FLAG(absl::Duration, think, absl::ZeroDuration(),
          "each worker waits this long before each report (its iteration), so N workers send "
          "about N / think reports per second; 0: back to back");
ABSL_FLAG(absl::Duration, churn_interval, absl::ZeroDuration(),
          "coordinator mode: every this often, --churn_workers workers leave and as many go "
          "silent until evicted, and earlier ones register again (0: no churn)");
ABSL_FLAG(int, churn_workers, 10,
          "workers that leave (and as many that go silent) per churn event");
ABSL_FLAG(absl::Duration, lease, absl::Seconds(10),
          "the job's heartbeat timeout (coordinator --heartbeat_timeout): with churn, idle "
          "workers heartbeat within 3/8 of it and silent ones return after two");
ABSL_FLAG(uint64_t, seed, 1, "random seed of the churn");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle of the coordinator's certificate: dial with TLS (empty, with no "
          "--tls_cert: plaintext)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate for mutual TLS (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "name expected in the coordinator's certificate when not the target host");
ABSL_FLAG(int, server_pid, 0,
          "PID of the server on this machine: report its CPU time (/proc/PID/stat) over the "
          "measured phase and per report (0: not measured)");
ABSL_FLAG(bool, json, false, "print one JSON object instead of the summary");

int main(int argc, char** argv) {
  ebsp::cli::InitUsage("ebsp-loadgen",
                       "ReportIteration throughput and latency of a coordinator (or of the echo "
                       "baseline, ebsp-echo-server) under N simulated workers. See "
                       "tools/loadgen/README.md.");
  ebsp::loadgen::DisableMutexDeadlockDetection();
  absl::ParseCommandLine(argc, argv);
  ebsp::loadgen::LoadOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.tls.ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.tls.enabled = !options.tls.ca_file.empty() || !options.tls.cert_file.empty();
  options.mode = absl::GetFlag(FLAGS_mode);
  absl::StatusOr<elasticbsp::v1::Policy> policy =
      ebsp::client::ParsePolicyText(absl::GetFlag(FLAGS_policy));
  if (!policy.ok()) {
    std::fprintf(stderr, "ebsp-loadgen: --policy: %s\n",
                 std::string(policy.status().message()).c_str());
    return 2;
  }
  options.policy = *policy;
  options.workers = absl::GetFlag(FLAGS_workers);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.max_requests = absl::GetFlag(FLAGS_max_requests);
  options.job = absl::GetFlag(FLAGS_job);
  if (options.job.empty()) options.job = absl::StrCat("loadgen-", getpid());
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.channels = absl::GetFlag(FLAGS_channels);
  options.compute = absl::GetFlag(FLAGS_compute);
  options.rpc_timeout = absl::GetFlag(FLAGS_rpc_timeout);
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.leave_at_end = absl::GetFlag(FLAGS_leave);
  options.think = absl::GetFlag(FLAGS_think);
  options.churn_interval = absl::GetFlag(FLAGS_churn_interval);
  options.churn_workers = absl::GetFlag(FLAGS_churn_workers);
  options.lease = absl::GetFlag(FLAGS_lease);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.server_pid = absl::GetFlag(FLAGS_server_pid);
  if (options.churn_interval > absl::ZeroDuration() &&
      (options.churn_workers < 1 || options.lease <= absl::ZeroDuration())) {
    std::fprintf(stderr, "ebsp-loadgen: --churn_workers must be >= 1 and --lease > 0 with churn\n");
    return 2;
  }

  absl::StatusOr<ebsp::loadgen::LoadResult> result = ebsp::loadgen::RunReportLoad(options);
  if (!result.ok()) {
    std::fprintf(stderr, "ebsp-loadgen: %s\n", result.status().ToString().c_str());
    return 1;
  }
  const std::string text =
      ebsp::loadgen::FormatLoadResult(options, *result, absl::GetFlag(FLAGS_json));
  std::fputs(text.c_str(), stdout);
  if (absl::GetFlag(FLAGS_json)) std::fputs("\n", stdout);
  return 0;
}
