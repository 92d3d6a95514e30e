// ebsp-barrier-bench: release latency of a barrier that N workers wait at,
// on a running ebsp-coordinator (see barrier_bench.h and README.md). The
// coordinator's --max_workers_per_job must allow N.
//
//   ebsp-barrier-bench --target=127.0.0.1:50051 --workers=10000 --rounds=5
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "lib/cli/usage.h"
#include "tools/loadgen/barrier_bench.h"
#include "tools/loadgen/grpc_util.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "ebsp-coordinator host:port");
ABSL_FLAG(ebsp::loadgen::LoadMode, mode, ebsp::loadgen::LoadMode::kCoordinator,
          "coordinator (Barrier of a BSP job) or echo (ebsp-echo-server's bare Park "
          "barrier: the baseline)");
ABSL_FLAG(int, workers, 1000, "workers waiting at the barrier (N)");
ABSL_FLAG(int, rounds, 5, "barriers to measure");
ABSL_FLAG(std::string, job, "", "job to create (default: barrier-bench-<pid>)");
ABSL_FLAG(int, channels, 8, "gRPC channels (TCP connections) the workers share");
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(60), "deadline of each call");
ABSL_FLAG(bool, json, false, "print one JSON object instead of the summary");

int main(int argc, char** argv) {
  ebsp::cli::InitUsage(
      "ebsp-barrier-bench",
      "Time to release a barrier that N workers wait at, on the coordinator or "
      "on a bare gRPC server holding the same calls. See tools/loadgen/README.md.");
  ebsp::loadgen::DisableMutexDeadlockDetection();
  absl::ParseCommandLine(argc, argv);
  ebsp::loadgen::BarrierBenchOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.mode = absl::GetFlag(FLAGS_mode);
  options.workers = absl::GetFlag(FLAGS_workers);
  options.rounds = absl::GetFlag(FLAGS_rounds);
  options.job = absl::GetFlag(FLAGS_job);
  if (options.job.empty()) options.job = absl::StrCat("barrier-bench-", getpid());
  options.channels = absl::GetFlag(FLAGS_channels);
  options.rpc_timeout = absl::GetFlag(FLAGS_rpc_timeout);
  absl::StatusOr<ebsp::loadgen::BarrierBenchResult> result =
      ebsp::loadgen::RunBarrierBench(options);
  if (!result.ok()) {
    std::fprintf(stderr, "ebsp-barrier-bench: %s\n", result.status().ToString().c_str());
    return 1;
  }
  const bool json = absl::GetFlag(FLAGS_json);
  std::fputs(ebsp::loadgen::FormatBarrierBenchResult(options, *result, json).c_str(), stdout);
  if (json) std::fputs("\n", stdout);
  return 0;
}
