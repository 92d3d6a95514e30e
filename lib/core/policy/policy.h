// The internal policy interface of the job state machine: one class per
// synchronization policy, chosen by PolicyConfig (Policy::Create). A policy
// with rounds sets every member's target when a round begins and may re-plan
// after a report; a roundless policy answers each report from the clocks
// (iterations since joining, a joiner starting at the slowest clock): it says
// how far the reporter may lead the slowest live worker (AllowedLead).
// JobState owns the only instance per job and keeps all membership state; a
// policy sees members through RoundMember views and keeps only what it needs
// to re-plan (ElasticBSP's forecasts of the round).
//
// Internal to ebsp_core. Not thread-safe; the owning JobState serializes calls.
#ifndef EBSP_LIB_CORE_POLICY_POLICY_H_
#define EBSP_LIB_CORE_POLICY_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "lib/core/policy/policy_config.h"
#include "lib/core/predict/predictor.h"
#include "lib/core/types.h"

namespace ebsp::core {

// A member of the current round, as a policy sees it.
struct RoundMember {
  WorkerId id = 0;
  int done = 0;    // c_i: iterations finished in this round.
  int target = 0;  // The current k_i (0 before the first plan).
  // At the barrier, or told to sync (done >= target) and on its way there:
  // its last iteration ended at `pinned_at` and its target cannot move.
  bool pinned = false;
  absl::Time pinned_at;
  // When this member's round began (a joiner's registration time).
  absl::Time round_start;
  std::optional<absl::Time> last_report;          // Latest report in this round.
  const IterationPredictor* predictor = nullptr;  // Borrowed, never null.
};

// Targets parallel to the members passed in, and what a plan predicted.
struct RoundTargets {
  std::vector<int> targets;
  std::optional<absl::Time> sync_time;  // Set when ZipLine planned.
  absl::Duration predicted_wait;        // The plan's total wait (zero if none).
  bool planned = false;                 // ZipLine ran.
};

// A report under a roundless policy (ASP, SSP, DSSP), as a policy sees it.
struct ClockReport {
  WorkerId id = 0;
  uint64_t clock = 0;          // The reporter's clock, this iteration counted.
  uint64_t slowest_clock = 0;  // The slowest live clock, the reporter's included.
  // What AllowedLead answered at the reporter's previous report (BaseLead()
  // after joining or a policy change).
  uint64_t allowed_lead = 0;
  absl::Time now;
  const IterationPredictor* predictor = nullptr;  // The reporter's; borrowed, never null.
};

// When the slowest live clock is predicted to advance: the latest predicted
// next report of the workers at it. nullopt if one of them has no forecast.
// Costs O(workers at the slowest clock), so a policy calls it only when it
// must decide.
using SlowestAdvance = absl::FunctionRef<std::optional<absl::Time>()>;

inline constexpr uint64_t kUnboundedLead = ~uint64_t{0};

class Policy {
 public:
  // `config` must be valid.
  static std::unique_ptr<Policy> Create(const PolicyConfig& config);

  explicit Policy(const PolicyConfig& config) : config_(config) {}
  virtual ~Policy() = default;
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  const PolicyConfig& config() const { return config_; }

  // Rounds: the targets of the round that begins at `now`. Every member has
  // done 0 and a predictor already told about its round start.
  virtual RoundTargets StartRound(absl::Span<const RoundMember> members, absl::Time now) = 0;

  // Rounds: the target of `newcomer`, joining a round that nobody has
  // started, when the other members can keep theirs. nullopt: the policy
  // must plan the whole round again (StartRound). Cheap: registrations of
  // thousands of workers call it once each.
  virtual std::optional<int> JoinTarget(const RoundMember& newcomer) const { return std::nullopt; }

  // Rounds: `reporter` (its view already counts the iteration that just
  // ended at `now`) calls for a re-plan of the round. Cheap: it runs on
  // every report, so it looks at the reporter only.
  virtual bool WantsReplan(const RoundMember& reporter, absl::Time now) const { return false; }

  // Rounds: re-plans the round after WantsReplan(members[reporter]) said so.
  // Returns the new targets, or nullopt to keep the current ones. Each new
  // target is above an unpinned member's done (at least done for the
  // reporter) and unchanged for pinned members.
  virtual std::optional<RoundTargets> Replan(absl::Span<const RoundMember> members, size_t reporter,
                                             absl::Time now) {
    return std::nullopt;
  }

  // Rounds: late binding. The reporter's target after the report that just
  // ended at `now` (its view counts that iteration), or nullopt to keep the
  // current target and ask WantsReplan instead. The answer is at least the
  // current target and the reporter's done, at most R: equal to done means
  // "sync now", above it "continue". Runs on every report: O(R log n) at
  // most.
  virtual std::optional<int> BindTarget(const RoundMember& reporter, absl::Time now) {
    return std::nullopt;
  }

  // Rounds: `id` left the round (left the job or was evicted). O(log n).
  virtual void OnMemberRemoved(WorkerId id) {}

  // Rounds: the directive for a member that has done `done` of `target`.
  static SyncAction AnswerRoundReport(int done, int target) {
    return done >= target ? SyncAction::kSyncNow : SyncAction::kContinue;
  }

  // Roundless: the lead over the slowest clock a worker is allowed when it
  // joins, and after a policy change (ASP: unbounded; SSP and DSSP: s).
  virtual uint64_t BaseLead() const { return kUnboundedLead; }

  // Roundless: the largest lead over the slowest clock that `report`'s worker
  // may have and still start its next iteration. It continues while
  // clock - slowest_clock <= the answer; told to wait, it is released from
  // WaitForClock once the slowest clock reaches clock - answer. The job
  // stores the answer and passes it back as report.allowed_lead.
  virtual uint64_t AllowedLead(const ClockReport& report, SlowestAdvance slowest_advance) const {
    return BaseLead();
  }

  // Roundless: the directive for a worker at `clock` allowed `allowed_lead`.
  static SyncAction AnswerClock(uint64_t clock, uint64_t slowest_clock, uint64_t allowed_lead) {
    return clock - slowest_clock <= allowed_lead ? SyncAction::kContinue : SyncAction::kWait;
  }

 private:
  PolicyConfig config_;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_POLICY_POLICY_H_
