// BarrierBench: how long a running coordinator takes to release a barrier
// that N workers wait at, for ebsp-barrier-bench.
//
// It creates a fresh BSP job (every target is 1), registers N workers, and
// per round: every worker reports its one iteration; N-1 of them call
// Barrier, all in flight at once on the callback API (no thread per call);
// once GetJob shows those N-1 arrived, it sends the last arrival and
// measures from that send until all N Barrier responses are in. That span
// is the release latency: the last arrival's trip to the server, the
// release of N waiting calls, and their responses back to the client.
// Everything is bounded by deadlines; the job is deleted at the end.
//
// Echo mode runs the same rounds against ebsp-echo-server's Park, a bare
// barrier with no coordinator logic: the floor this machine and gRPC set.
#ifndef EBSP_TOOLS_LOADGEN_BARRIER_BENCH_H_
#define EBSP_TOOLS_LOADGEN_BARRIER_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/loadgen/report_load.h"

namespace ebsp::loadgen {

struct BarrierBenchOptions {
  std::string target;  // host:port of ebsp-coordinator (or ebsp-echo-server)
  LoadMode mode = LoadMode::kCoordinator;
  int workers = 1000;
  int rounds = 5;
  std::string job = "barrier-bench";
  int channels = 8;
  absl::Duration rpc_timeout = absl::Seconds(60);
  absl::Duration connect_timeout = absl::Seconds(5);
  // How long N-1 Barrier calls may take to show up as arrived in GetJob.
  absl::Duration arrival_timeout = absl::Seconds(60);
};

struct BarrierRoundResult {
  uint64_t round = 0;
  // From sending the last arrival until all N responses were received.
  absl::Duration release_latency;
  // From the same send until the first response arrived.
  absl::Duration first_response;
  // The send, in seconds of CLOCK_MONOTONIC (what steady_clock reads on
  // Linux), to line a round up with `perf record -k CLOCK_MONOTONIC`.
  double sent_monotonic_seconds = 0;
};

struct BarrierBenchResult {
  absl::Duration register_elapsed;
  std::vector<BarrierRoundResult> rounds;
  absl::Duration median_release;
  absl::Duration max_release;
};

// An error naming the step and the worker when the coordinator refuses or
// times out (e.g. RESOURCE_EXHAUSTED when N exceeds --max_workers_per_job).
absl::StatusOr<BarrierBenchResult> RunBarrierBench(const BarrierBenchOptions& options);

std::string FormatBarrierBenchResult(const BarrierBenchOptions& options,
                                     const BarrierBenchResult& result, bool json);

}  // namespace ebsp::loadgen

#endif  // EBSP_TOOLS_LOADGEN_BARRIER_BENCH_H_
