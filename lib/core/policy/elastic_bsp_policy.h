// ElasticBSP with ZipLine (docs/design.md section 3). When a round begins it
// forecasts each member's next R iteration ends from the release and lets
// PlanTargets pick every member's target. During the round it compares each
// report with the forecast; when a report is off by more than
// kReplanDriftFraction of the worker's interval it re-plans the rest of the
// round under k_i in (c_i, R], with members that are at the barrier (or were
// already told to sync) pinned at their last end.
//
// Cold start: a member without history (fewer than two reports) is planned
// as if it were the slowest member with history (that one's interval and
// overhead); when no member has history the round runs BSP (every target 1),
// which yields the reports that give everyone history.
//
// Internal to ebsp_core.
#ifndef EBSP_LIB_CORE_POLICY_ELASTIC_BSP_POLICY_H_
#define EBSP_LIB_CORE_POLICY_ELASTIC_BSP_POLICY_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "lib/core/planner/zipline.h"
#include "lib/core/policy/policy.h"

namespace ebsp::core {

// A report this far from its forecast, as a fraction of the worker's typical
// interval, triggers a re-plan. A quarter interval is well above the jitter
// of a steady worker, yet catches a straggler within its first slow step.
inline constexpr double kReplanDriftFraction = 0.25;
// Each re-plan is a full ZipLine run over members x R points. Under heavy
// noise nearly every report drifts, so a round re-plans at most
// kReplanPointBudget / (members x R) times, between kMinReplansPerRound and
// kMaxReplansPerRound: a 16-worker job re-plans as often as it drifts
// (64 was never reached in the simulator's trace suite and raised the
// throughput on noisy traces from 0.73 to 0.78 of ASP's against a cap of 8),
// while a 10000-worker job spends a bounded ~1M points per round.
inline constexpr int64_t kReplanPointBudget = 1'000'000;
inline constexpr int kMinReplansPerRound = 4;
inline constexpr int kMaxReplansPerRound = 64;

class ElasticBspPolicy final : public Policy {
 public:
  using Policy::Policy;

  RoundTargets StartRound(absl::Span<const RoundMember> members, absl::Time now) override;
  // A newcomer without history joining a round without a plan (nobody had
  // history) runs BSP's target like the others; anything else re-plans.
  std::optional<int> JoinTarget(const RoundMember& newcomer) const override {
    if (expected_.empty() && !newcomer.predictor->HasHistory()) return 1;
    return std::nullopt;
  }
  bool WantsReplan(const RoundMember& reporter, absl::Time now) const override;
  std::optional<RoundTargets> Replan(absl::Span<const RoundMember> members, size_t reporter,
                                     absl::Time now) override;

 private:
  // What the current plan expects of one member.
  struct Expected {
    int first_iteration = 1;  // The iteration whose end is ends[0].
    std::vector<absl::Time> ends;
  };

  // The slowest member with history: its interval and round overhead.
  struct ColdModel {
    absl::Duration interval;
    absl::Duration overhead;
  };
  static std::optional<ColdModel> SlowestWithHistory(absl::Span<const RoundMember> members);

  // `count` forecast ends of `member`: from its own history, else planned as
  // `cold` after `cold_anchor`; nullopt with neither.
  static std::optional<std::vector<absl::Time>> MemberEnds(const RoundMember& member,
                                                           absl::Time cold_anchor,
                                                           const std::optional<ColdModel>& cold,
                                                           int count);

  // Runs ZipLine and remembers the forecasts for drift checks.
  std::optional<RoundTargets> RunZipLine(absl::Span<const RoundMember> members,
                                         std::vector<WorkerForecast> forecasts);

  absl::flat_hash_map<WorkerId, Expected> expected_;
  int replans_in_round_ = 0;
  int replans_allowed_ = kMaxReplansPerRound;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_POLICY_ELASTIC_BSP_POLICY_H_
