// ElasticBSP with ZipLine (docs/design.md section 3, docs/planning.md). When
// a round begins it forecasts each member's next R iteration ends from the
// release and lets PlanTargets pick every member's target.
//
// Late binding (TargetBinding::kLate, the default): the plan shapes the
// round; its barrier time, widened by each member's spread, is where the
// barrier estimate T starts (BarrierEstimate). A member receives only part
// of its planned target (kCommitFraction); at every report past it, it is
// told to continue while its next iteration is expected, with its own
// spread, to end by T, and to sync otherwise. T follows the members that
// run late. O(R log n) per report, never rationed.
//
// Plan binding (kPlan, the behaviour before): during the round it compares
// each report with the forecast; when a report is off by more than
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
#include "lib/core/policy/barrier_estimate.h"
#include "lib/core/policy/policy.h"
#include "lib/core/predict/windowed_median_predictor.h"

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

// Late binding. The barrier is planned to the plan's barrier time plus
// kBarrierSpreads x (spread x sqrt(k)) of the member that arrives last by
// that measure: with n members someone is almost always in its tail.
inline constexpr double kBarrierSpreads = 1.0;
// A member continues when its next report, plus kNextEndSpreads of its
// spread, is expected by the barrier estimate.
inline constexpr double kNextEndSpreads = 1.0;
// At a round's start a member is committed to this share of its planned
// target (at least 1): a worker trains up to its target without further
// answers (through a coordinator outage), so a target sent cannot move
// down; committing half leaves a member that turns straggler mid-round free
// to stop early, while a coordinator outage still finds work to do.
inline constexpr double kCommitFraction = 0.5;
// A late member's expected report moves by at least this share of its
// interval (BarrierEstimate).
inline constexpr double kMinPushFraction = 0.1;
// The reserve: over the last kLatenessWindow rounds, the median of the most
// a report came after its upper forecast in the round (with n workers that
// is a straggler's onset, which no forecast sees coming). The round is
// planned that much shorter than R allows and its barrier expected that
// much later, so the fast members have room left to fill it.
inline constexpr size_t kLatenessWindow = 7;

class ElasticBspPolicy final : public Policy {
 public:
  using Policy::Policy;

  RoundTargets StartRound(absl::Span<const RoundMember> members, absl::Time now) override;
  // A newcomer without history joining a round without a plan (nobody had
  // history) runs BSP's target like the others; anything else re-plans.
  std::optional<int> JoinTarget(const RoundMember& newcomer) const override {
    if (!round_planned_ && !newcomer.predictor->HasHistory()) return 1;
    return std::nullopt;
  }
  bool WantsReplan(const RoundMember& reporter, absl::Time now) const override;
  std::optional<RoundTargets> Replan(absl::Span<const RoundMember> members, size_t reporter,
                                     absl::Time now) override;
  std::optional<int> BindTarget(const RoundMember& reporter, absl::Time now) override;
  void OnMemberRemoved(WorkerId id) override { estimate_.Remove(id); }

  // The late-binding barrier estimate (for tests).
  const BarrierEstimate& estimate() const { return estimate_; }

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
    absl::Duration spread;
  };
  // What late binding plans a member's next iteration with.
  struct Outlook {
    absl::Time next_end;  // Point forecast of the next report.
    absl::Duration interval;
    absl::Duration spread;
  };
  Outlook OutlookOf(const RoundMember& member) const;
  bool late() const { return config().binding == TargetBinding::kLate; }
  // Late binding: commits part of each planned target and starts T.
  RoundTargets BindLate(absl::Span<const RoundMember> members, RoundTargets planned,
                        absl::Duration reserve);
  static std::optional<ColdModel> SlowestWithHistory(absl::Span<const RoundMember> members);

  // `count` forecast ends of `member`: from its own history (with `late`,
  // LateForecast: straggler episodes and slow spells), else planned as
  // `cold` after `cold_anchor`; nullopt with neither.
  static std::optional<std::vector<absl::Time>> MemberEnds(const RoundMember& member,
                                                           absl::Time cold_anchor,
                                                           const std::optional<ColdModel>& cold,
                                                           int count, bool late);

  // Runs ZipLine and remembers the forecasts for drift checks.
  std::optional<RoundTargets> RunZipLine(absl::Span<const RoundMember> members,
                                         std::vector<WorkerForecast> forecasts);

  absl::flat_hash_map<WorkerId, Expected> expected_;
  bool round_planned_ = false;     // ZipLine planned the current round.
  std::optional<ColdModel> cold_;  // Of the current round.
  BarrierEstimate estimate_;
  // Late binding: per recent round, the most any report came after its
  // upper forecast (the reserve is their median).
  MedianWindow lateness_{kLatenessWindow};
  absl::Duration round_lateness_;         // This round's, so far.
  std::optional<absl::Time> plan_began_;  // When the planned round began.
  int replans_in_round_ = 0;
  int replans_allowed_ = kMaxReplansPerRound;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_POLICY_ELASTIC_BSP_POLICY_H_
