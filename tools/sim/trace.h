// Iteration-time traces for the simulator: per worker, the compute time of
// each of its iterations, plus the synthetic suite the simulator compares
// policies on (static heterogeneity, transient stragglers, periodic
// slowdowns, log-normal noise, and a mix of all). The parameters of every
// suite trace are documented in tools/sim/README.md.
//
// A trace is a property of the workers, not of a policy: the same trace is
// replayed under every policy, so time-based effects (a straggler slow "for a
// few seconds") are laid out on each worker's own compute timeline, which
// waiting does not advance.
#ifndef EBSP_TOOLS_SIM_TRACE_H_
#define EBSP_TOOLS_SIM_TRACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ebsp::sim {

struct Trace {
  std::string name;
  // compute[w][i]: compute time of worker w's iteration i (0-based).
  std::vector<std::vector<absl::Duration>> compute;

  int workers() const { return static_cast<int>(compute.size()); }

  // Iterations past the end of a worker's list repeat it from the start, so
  // a short recorded trace can drive a long simulation.
  absl::Duration IterationTime(int worker, uint64_t iteration) const {
    const std::vector<absl::Duration>& times = compute[worker];
    return times[iteration % times.size()];
  }

  // INVALID_ARGUMENT unless there is at least one worker, every worker has at
  // least one iteration and every compute time is positive and finite.
  absl::Status Validate() const;
};

enum class TraceKind {
  kStatic,
  kTransient,
  kPeriodic,
  kNoise,
  kMix,
  // Stress traces, not part of the suite ("all"): checks of robustness
  // beyond the five the policies were tuned on (tools/sim/README.md).
  kHeavy,  // Heavy-tailed hiccups, checkpoint pauses, a slower node.
  kDrift,  // Gradual speed drifts and correlated bursts.
};

// The suite: what `--trace=all` runs and the tests compare.
inline constexpr TraceKind kAllTraceKinds[] = {TraceKind::kStatic, TraceKind::kTransient,
                                               TraceKind::kPeriodic, TraceKind::kNoise,
                                               TraceKind::kMix};
inline constexpr TraceKind kStressTraceKinds[] = {TraceKind::kHeavy, TraceKind::kDrift};

absl::string_view TraceKindName(TraceKind kind);  // "static", "transient", ...
absl::StatusOr<TraceKind> ParseTraceKind(absl::string_view name);

struct SuiteOptions {
  int workers = 16;
  uint64_t seed = 1;
  // Each worker's trace covers at least this much of its own compute time,
  // so a simulation of this length never wraps around.
  absl::Duration length = absl::Seconds(300);
  // Mean compute time of one iteration of a worker at speed 1.
  absl::Duration base_iteration = absl::Milliseconds(100);
};

// The same (kind, options) gives the same trace on every platform.
// INVALID_ARGUMENT for workers < 1 or a non-positive length or base.
absl::StatusOr<Trace> MakeSuiteTrace(TraceKind kind, const SuiteOptions& options);

}  // namespace ebsp::sim

#endif  // EBSP_TOOLS_SIM_TRACE_H_
