// Which synchronization policy a job runs, with its parameters. A value type:
// validated once (Validate / ParsePolicy), then handed to JobState.
#ifndef EBSP_LIB_CORE_POLICY_POLICY_CONFIG_H_
#define EBSP_LIB_CORE_POLICY_POLICY_CONFIG_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/core/planner/zipline.h"
#include "lib/core/predict/predictor.h"

namespace ebsp::core {

enum class PolicyKind {
  kBsp,         // Every target is 1.
  kAsp,         // No rounds, never wait.
  kSsp,         // No rounds; wait when more than `staleness` ahead.
  kElasticBsp,  // Per-worker targets from ZipLine, 1 <= k_i <= lookahead.
  kLocalSteps,  // Every target is `local_steps`.
  kDssp,        // No rounds; SSP whose threshold is chosen at run time in
                // [staleness, staleness + staleness_range] (dssp_policy.h).
};

// How ElasticBSP turns ZipLine's plan into the targets workers receive
// (docs/planning.md).
enum class TargetBinding {
  // ZipLine shapes the round when it begins; each worker's target is then
  // bound late, at its own reports, against an incrementally kept estimate of
  // when the slowest members will really arrive. O(R log n) per report.
  kLate,
  // ZipLine's targets as planned, re-planned (O(nR log n), rationed) when a
  // report drifts from its forecast: the behaviour before late binding, kept
  // for comparison. Text only (`binding=plan`): not on the wire.
  kPlan,
};

inline constexpr int kMaxLookahead = 4096;
inline constexpr int kDefaultLookahead = 15;
// DSSP's r_max: how far above s the threshold may be raised.
inline constexpr int kMaxStalenessRange = 4096;
inline constexpr int kDefaultStalenessRange = 12;

struct PolicyConfig {
  PolicyKind kind = PolicyKind::kElasticBsp;
  int lookahead = kDefaultLookahead;             // R, ElasticBSP.
  int staleness = 3;                             // s, SSP and DSSP.
  int staleness_range = kDefaultStalenessRange;  // r_max, DSSP.
  int local_steps = 1;                           // H, LOCAL_STEPS.
  PlanObjective objective = PlanObjective::kIdleRate;
  PredictorKind predictor = PredictorKind::kEwma;  // ElasticBSP and DSSP.
  TargetBinding binding = TargetBinding::kLate;    // ElasticBSP.

  // BSP, ElasticBSP and LOCAL_STEPS have rounds and barriers; ASP, SSP and
  // DSSP do not.
  bool HasRounds() const;
  // SSP and DSSP: workers may be told to wait in WaitForClock.
  bool HasClocks() const;
  // INVALID_ARGUMENT naming the parameter and its value when out of range
  // (1 <= lookahead <= kMaxLookahead, staleness >= 0, local_steps >= 1,
  // 1 <= staleness_range <= kMaxStalenessRange, and for DSSP s + r_max
  // must fit in an int).
  absl::Status Validate() const;
  // Round-trips through ParsePolicy, e.g. "ebsp:R=15,objective=idle_rate,predictor=ewma"
  // (",binding=plan" follows only when binding is not the default).
  std::string ToString() const;
};

// Parses the textual form used by flags, the simulator and the demo:
//   "bsp" | "asp" | "ssp:s=3" | "local:H=4" |
//   "ebsp:R=15[,objective=idle_rate|spread|total_wait][,predictor=latest|ewma|median]
//        [,binding=late|plan]" |
//   "dssp:s=3,r=12[,predictor=latest|ewma|median]"   (r is r_max)
// Returns a validated config or INVALID_ARGUMENT saying what was wrong.
absl::StatusOr<PolicyConfig> ParsePolicy(std::string_view text);

// "bsp", "asp", "ssp", "ebsp", "local", "dssp"
std::string_view PolicyKindName(PolicyKind kind);
// "spread", "total_wait", "idle_rate"
std::string_view ObjectiveName(PlanObjective objective);
// "late", "plan"
std::string_view BindingName(TargetBinding binding);

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_POLICY_POLICY_CONFIG_H_
