// The simulator's engine: replays a trace through the real core JobState in
// virtual time, under one policy, and measures what the workers would see.
//
// Timing model (all virtual, deterministic):
// - Every worker registers at t = 0 and starts its first iteration at once.
// - An iteration's end is its start plus the trace's compute time; the worker
//   reports it at that instant (no network delay) and obeys the directive:
//   continue (next iteration starts at once), sync now (it arrives at the
//   barrier), or wait (SSP: it waits for the clock).
// - A barrier release starts the released workers' next iteration at the
//   release time plus `sync_cost`, the training stack's own synchronization
//   (all-reduce) that follows every barrier. An SSP clock release costs
//   nothing extra: it only lifts a gate. ASP never synchronizes.
// - Events at the same virtual time run in worker order, so a run is a pure
//   function of (trace, options).
// The run stops at `duration`; iterations that end after it do not count.
#ifndef EBSP_TOOLS_SIM_ENGINE_H_
#define EBSP_TOOLS_SIM_ENGINE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/core/policy/policy_config.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {

inline constexpr absl::Duration kDefaultSimDuration = absl::Seconds(300);
inline constexpr int64_t kDefaultMaxEvents = 50'000'000;

struct SimOptions {
  core::PolicyConfig policy;
  // Replace the policy's predictor by the clairvoyant OraclePredictor
  // (ElasticBSP only; other policies do not predict).
  bool oracle = false;
  absl::Duration duration = kDefaultSimDuration;
  absl::Duration sync_cost = absl::ZeroDuration();
  // Bound on processed iteration ends; reaching it is an error, not a
  // silently shortened run.
  int64_t max_events = kDefaultMaxEvents;
  // Keep one RoundRecord per completed round in SimMetrics::round_log (for
  // --rounds_csv: predicted against actual wait, round by round).
  bool record_rounds = false;
};

// One completed round, from the core's RoundSummary; times in seconds from
// the start of the run.
struct RoundRecord {
  uint64_t round = 0;
  double began_s = 0;
  double released_s = 0;
  int members = 0;
  // ZipLine runs for this round: its start plan plus re-plans (0 when the
  // round ran without a plan).
  int plans = 0;
  // The round's last plan's prediction (after any re-plans; 0 without a
  // plan), against the sum of the members' actual waits.
  double predicted_wait_s = 0;
  double actual_wait_s = 0;
};

struct SimMetrics {
  int workers = 0;
  uint64_t iterations_total = 0;
  double throughput_iters_per_s = 0;
  // Time spent waiting (barrier or SSP clock) over worker time
  // (workers * duration). Sync cost is not waiting and is not counted.
  double idle_fraction = 0;
  // Mean of the completed waits (every barrier arrival and SSP wait, the
  // last arriver's zero wait included).
  double mean_wait_s = 0;
  uint64_t waits = 0;
  // Max over time of the fastest worker's lead over the slowest, counted in
  // iterations since the last synchronization they took part in together:
  // since the last barrier under round policies (BSP, ElasticBSP, local
  // steps), since the start under ASP and SSP. It is the staleness the
  // policies bound: 1 for BSP, H for local steps, R for ElasticBSP, s + 1
  // for SSP, none for ASP.
  uint64_t max_staleness = 0;
  // Max over time of fastest minus slowest total iterations (the gauge
  // ebsp_job_staleness_iterations); under round policies with uneven
  // targets it grows with time, as it should: it is not a staleness then.
  uint64_t max_total_lead = 0;
  uint64_t rounds = 0;
  // Sums over completed rounds, from the core's RoundSummary.
  double round_wait_s_total = 0;
  double round_predicted_wait_s_total = 0;
  int64_t events = 0;
  // Every completed round in order, when SimOptions::record_rounds.
  std::vector<RoundRecord> round_log;
};

// INVALID_ARGUMENT for an invalid trace or options (non-positive duration,
// negative sync cost, oracle with a policy other than ElasticBSP); INTERNAL
// when the core rejects an event or all workers wait forever (a core bug the
// simulator reports rather than hides); RESOURCE_EXHAUSTED at max_events.
absl::StatusOr<SimMetrics> Simulate(const Trace& trace, const SimOptions& options);

}  // namespace ebsp::sim

#endif  // EBSP_TOOLS_SIM_ENGINE_H_
