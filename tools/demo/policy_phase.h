// One phase of the demo: a fresh job under one policy, N simulated workers
// for a fixed time, a live line per print interval, and the phase's figures.
#ifndef EBSP_TOOLS_DEMO_POLICY_PHASE_H_
#define EBSP_TOOLS_DEMO_POLICY_PHASE_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ebsp::demo {

struct PhaseOptions {
  std::string target;       // Coordinator "host:port".
  std::string job;          // A job name not used before.
  std::string policy_text;  // "bsp", "ebsp:R=8", ...
  // Mean iteration time of each worker (its length is the worker count).
  std::vector<absl::Duration> mean_iterations;
  double noise = 0.1;
  uint64_t seed = 1;
  absl::Duration duration = absl::Seconds(20);
  absl::Duration print_interval = absl::Seconds(1);
  // After the phase, how long the workers get to leave before it fails.
  absl::Duration stop_timeout = absl::Seconds(15);
};

struct PhaseResult {
  std::string policy_text;
  absl::Duration elapsed;
  int64_t iterations = 0;
  double iterations_per_second = 0;
  double idle_fraction = 0;  // The coordinator's, from GetJob, at the end.
  uint64_t rounds = 0;
};

// Runs the phase, printing live lines to `out`. An error (a worker failed,
// the coordinator is unreachable, workers did not stop) ends it.
absl::StatusOr<PhaseResult> RunPhase(const PhaseOptions& options, std::ostream& out);

// The workers' targets in the order of `names`, as "1 1 2 2 3 3 4 4".
std::string FormatTargets(const std::vector<std::string>& names,
                          const std::vector<std::pair<std::string, uint32_t>>& targets);

}  // namespace ebsp::demo

#endif  // EBSP_TOOLS_DEMO_POLICY_PHASE_H_
