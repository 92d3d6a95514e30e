#include "lib/core/job/job_state.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/core/job/idle_accounting.h"
#include "lib/core/job/membership.h"
#include "lib/core/job/names.h"
#include "lib/core/job/policy_switch.h"
#include "lib/core/job/restart_hold.h"
#include "lib/core/job/round_barrier.h"
#include "lib/core/job/ssp_clocks.h"
#include "lib/core/job/worker_record.h"
#include "lib/core/policy/policy.h"
#include "lib/core/string_view_compat.h"

namespace ebsp::core {

// The events of job_state.h over small parts with one job each: Membership
// (who is in, leases, request ids, fingerprint, departures), RoundBarrier
// (rounds and the barrier's counts), RestartHold (names awaited after a
// restart), SspClocks (roundless clocks and WaitForClock), PolicySwitch (the
// policy now and the one waiting for a boundary) and IdleAccounting. Every
// event checks everything first and changes state only once it cannot fail.
class JobState::Impl {
 public:
  Impl(std::string name, JobOptions options, absl::Time now)
      : name_(std::move(name)),
        latest_event_time_(now),
        members_(name_, options.max_workers, options.heartbeat_timeout),
        policy_(options.policy, std::move(options.predictor_factory)),
        rounds_(now) {}

  // ---- Events -------------------------------------------------------------

  absl::StatusOr<RegisterResult> Register(WorkerId id, std::string_view name,
                                          std::string_view request_id, absl::Time now) {
    if (absl::Status s = ValidateWorkerName(ToAbsl(name)); !s.ok()) return s;
    if (absl::Status s = ValidateRequestId(ToAbsl(request_id)); !s.ok()) return s;
    if (request_id.empty()) return Add(id, name, now);
    if (WorkerRecord* w = members_.FindByRequestId(request_id); w != nullptr) {
      if (w->name != name) {
        return absl::InvalidArgumentError(
            absl::StrCat("request_id \"", ToAbsl(request_id), "\" already registered worker \"",
                         w->name, "\" (", w->id, ") in job \"", name_, "\"; this Register names \"",
                         ToAbsl(name), "\": use a new request_id per logical call"));
      }
      w->last_seen = now;  // A sign of life, nothing else.
      RegisterResult again = w->registered_as;
      again.retry = true;
      return again;
    }
    absl::StatusOr<RegisterResult> result = Add(id, name, now);
    if (!result.ok()) return result;
    WorkerRecord& added = members_.workers().at(result->worker);
    members_.KeepRequestId(added, std::string(request_id));
    added.registered_as = *result;
    added.registered_as.effects = Effects();
    return result;
  }

  absl::StatusOr<RegisterResult> Add(WorkerId id, std::string_view name, absl::Time now) {
    if (absl::Status s = members_.CheckJoin(id, name); !s.ok()) return s;

    RegisterResult result;
    const bool rounds = policy_.HasRounds();
    // An awaited name (restart hold) joins the held round even mid-round.
    const bool in_progress = rounds && rounds_.InProgress();
    const bool joins_next_round = in_progress && !hold_.Awaits(std::string(name));
    const bool policy_changes = rounds && !in_progress && policy_.pending().has_value();
    if (policy_changes) {
      // No round in progress: the boundary the change waits for is now.
      ApplyPolicy(*policy_.pending(), now);
    }

    WorkerRecord w;
    w.id = id;
    w.name = std::string(name);
    w.joined = now;
    w.last_seen = now;
    w.round_start = now;
    w.predictor = policy_.NewPredictor(id);
    if (!rounds) {
      w.clock_base = clocks_.JoinClock();
      w.allowed_lead = policy_.policy().BaseLead();
      clocks_.Join(w);
    }
    w.phase = joins_next_round ? WorkerPhase::kPending : WorkerPhase::kRunning;
    if (joins_next_round) rounds_.OnPendingJoined();
    if (!joins_next_round) w.predictor->StartRound(now);
    WorkerRecord& added = members_.Add(std::move(w));
    result.effects.membership_changed = true;

    if (rounds && !joins_next_round) {
      // Under a policy that just changed, the members there already hold
      // the old policy's targets: the whole round is planned again.
      std::optional<int> target =
          policy_changes ? std::nullopt : policy_.policy().JoinTarget(ViewOf(added));
      // Mid-round (an awaited name) the others keep their plan; without a
      // join target from the policy it runs one iteration, as under BSP.
      if (in_progress && !target.has_value()) target = 1;
      if (target.has_value()) {
        added.target = *target;
      } else {
        // Nobody has done anything in this round yet, so the whole round
        // can be planned again with the newcomer in it.
        StartRoundTargets(now, result.effects);
      }
    }
    if (hold_.OnJoined(added.name)) {
      // The last name the restart hold waited for is back.
      MaybeReleaseBarrier(now, result.effects);
    }
    result.worker = id;
    result.phase = added.phase;
    // Pending: the round it joins. (A release just above made it a member
    // of the new round, which is then the current one.)
    result.round = added.phase == WorkerPhase::kPending ? rounds_.round() + 1 : rounds_.round();
    result.target = added.target;
    result.membership_epoch = members_.epoch();
    result.membership_fingerprint = members_.fingerprint();
    result.live_workers = members_.size();
    return result;
  }

  absl::StatusOr<ReportResult> ReportIteration(WorkerId id, uint64_t round, int iteration,
                                               absl::Duration compute, absl::Time now) {
    absl::StatusOr<WorkerRecord*> found = members_.Find(id);
    if (!found.ok()) return found.status();
    WorkerRecord& w = **found;
    if (absl::Status s = CheckReportValues(w, iteration, compute); !s.ok()) return s;
    if (w.phase == WorkerPhase::kRunning && round == rounds_.round() && iteration == w.done) {
      return AnswerAgain(w, now);
    }
    if (absl::Status s = CheckReportOrder(w, round, iteration); !s.ok()) return s;
    return ApplyReport(w, iteration, compute, now);
  }

  absl::StatusOr<Effects> ArriveAtBarrier(WorkerId id, uint64_t round, absl::Time now) {
    absl::StatusOr<WorkerRecord*> found = members_.Find(id);
    if (!found.ok()) return found.status();
    WorkerRecord& w = **found;
    Effects effects;
    if (!policy_.HasRounds()) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", id, " called Barrier(", round, ") but job \"", name_, "\" runs ",
                       ToAbsl(PolicyKindName(policy_.config().kind)), ", which has no barriers"));
    }
    const uint64_t current = rounds_.round();
    if (w.phase == WorkerPhase::kPending) {
      if (round != current) {
        return absl::FailedPreconditionError(
            absl::StrCat("worker ", id, " is pending and waits at the barrier of round ", current,
                         ", not ", round));
      }
      w.last_seen = now;
      if (!w.waiting_since.has_value()) w.waiting_since = now;
      return effects;  // A pending arrival never completes the barrier.
    }
    if (current > 0 && round == current - 1 && w.done == 0 && w.phase == WorkerPhase::kRunning) {
      // The barrier it names already released (its reply was lost, or it was
      // pending and late): answer again with what that release gave it.
      w.last_seen = now;
      Release again = last_release_;
      again.worker = id;
      again.target = w.target;
      again.waited = absl::ZeroDuration();
      effects.releases.push_back(again);
      return effects;
    }
    if (round != current) {
      return absl::FailedPreconditionError(absl::StrCat("worker ", id, " called Barrier(", round,
                                                        ") but the current round is ", current));
    }
    if (w.phase == WorkerPhase::kAtBarrier) {
      w.last_seen = now;  // A retry: it is already counted.
      return effects;
    }
    if (w.done < w.target) {
      return absl::FailedPreconditionError(absl::StrCat("worker ", id, " called Barrier(", round,
                                                        ") after ", w.done, " of its ", w.target,
                                                        " iterations"));
    }
    w.last_seen = now;
    w.phase = WorkerPhase::kAtBarrier;
    w.waiting_since = now;
    rounds_.OnArrived();
    MaybeReleaseBarrier(now, effects);
    return effects;
  }

  absl::StatusOr<Effects> WaitForClock(WorkerId id, absl::Time now) {
    absl::StatusOr<WorkerRecord*> found = members_.Find(id);
    if (!found.ok()) return found.status();
    WorkerRecord& w = **found;
    if (!policy_.config().HasClocks()) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", id, " called WaitForClock but job \"", name_, "\" runs ",
                       ToAbsl(PolicyKindName(policy_.config().kind)),
                       ", which has no clocks; only ssp and dssp do"));
    }
    Effects effects;
    w.last_seen = now;
    if (w.phase == WorkerPhase::kWaitingClock) return effects;  // A retry.
    if (w.clock_released) {
      // Released before and has not reported since: its reply was lost.
      Release again{id, WaitKind::kClock, rounds_.round(), 0, absl::ZeroDuration()};
      StampMembership(again);
      again.own_clock = w.clock();
      again.slowest_clock = clocks_.Slowest().value_or(w.clock());
      effects.releases.push_back(again);
      return effects;
    }
    w.phase = WorkerPhase::kWaitingClock;
    w.waiting_since = now;
    clocks_.Wait(w);
    ReleaseClockWaiters(now, effects);
    return effects;
  }

  absl::StatusOr<HeartbeatResult> Heartbeat(WorkerId id, absl::Time now) {
    absl::StatusOr<WorkerRecord*> found = members_.Find(id);
    if (!found.ok()) return found.status();
    (*found)->last_seen = now;
    return HeartbeatResult{rounds_.round(), members_.epoch(), members_.fingerprint(),
                           members_.heartbeat_timeout()};
  }

  absl::StatusOr<Effects> Leave(WorkerId id, absl::Time now) {
    if (!members_.Contains(id) && members_.Left(id)) return Effects();  // A retry.
    absl::StatusOr<WorkerRecord*> found = members_.Find(id);
    if (!found.ok()) return found.status();
    Effects effects;
    Remove(**found, now, DepartureKind::kLeft, "left the job; register again to rejoin");
    effects.membership_changed = true;
    AfterDeparture(now, effects);
    return effects;
  }

  Effects Tick(absl::Time now) {
    Effects effects;
    if (hold_.ExpireAt(now) && policy_.HasRounds()) MaybeReleaseBarrier(now, effects);
    const std::vector<WorkerId> expired = members_.Expired(now);
    if (expired.empty()) return effects;
    for (WorkerId id : expired) {
      WorkerRecord& w = members_.workers().at(id);
      effects.evictions.push_back(Eviction{id, w.name, EvictionReason::kLeaseExpired,
                                           w.waiting_since.has_value(), now - w.last_seen});
      Remove(w, now, DepartureKind::kEvicted,
             absl::StrCat("was evicted from job \"", name_, "\": silent longer than its ",
                          absl::FormatDuration(members_.heartbeat_timeout()),
                          " lease; register again"));
      members_.CountEviction();
    }
    effects.membership_changed = true;
    AfterDeparture(now, effects);
    return effects;
  }

  std::optional<absl::Time> NextLeaseExpiry() const { return members_.NextLeaseExpiry(); }

  void ExpectMembers(const std::vector<std::string>& names, absl::Time until) {
    std::vector<std::string> missing;
    if (policy_.HasRounds()) {
      for (const std::string& name : names) {
        if (!members_.IsLiveName(name)) missing.push_back(name);
      }
    }
    hold_.Start(std::move(missing), until);
  }

  std::vector<std::string> LiveWorkerNames() const { return members_.LiveNames(); }

  absl::Status UpdatePolicy(const PolicyConfig& policy, absl::Time now) {
    if (absl::Status s = policy.Validate(); !s.ok()) return s;
    const PolicyConfig& current = policy_.config();
    if (policy.HasRounds() != current.HasRounds() && !members_.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job \"", name_, "\" cannot switch from ", ToAbsl(PolicyKindName(current.kind)), " to ",
          ToAbsl(PolicyKindName(policy.kind)), " while it has ", members_.size(),
          " workers: rounds and roundless policies need an empty job to switch"));
    }
    if (current.HasRounds() && rounds_.InProgress()) {
      policy_.Defer(policy);
      return absl::OkStatus();
    }
    ApplyPolicy(policy, now);
    if (policy_.HasRounds() && !members_.empty()) {
      Effects ignored;  // Targets of a round nobody started; reported on use.
      StartRoundTargets(now, ignored);
    }
    return absl::OkStatus();
  }

  JobSnapshot Snapshot(absl::Time now) const {
    JobSnapshot s;
    s.name = name_;
    s.options.policy = policy_.config();
    s.options.heartbeat_timeout = members_.heartbeat_timeout();
    s.options.max_workers = members_.max_workers();
    s.pending_policy = policy_.pending();
    s.round = rounds_.round();
    s.membership_epoch = members_.epoch();
    s.membership_fingerprint = members_.fingerprint();
    s.awaited_names = hold_.awaited_names();
    s.hold_until = hold_.until();
    s.round_began = rounds_.began();
    s.rounds_completed = rounds_.completed();
    s.evictions_total = members_.evictions_total();
    const bool rounds = policy_.HasRounds();
    for (const auto& [id, w] : members_.workers()) {
      WorkerSnapshot ws;
      ws.worker = id;
      ws.name = w.name;
      ws.phase = w.phase;
      ws.iterations_in_round = w.done;
      ws.target = w.target;
      ws.iterations_total = w.iterations_total;
      ws.last_compute = w.last_compute;
      ws.predicted_interval = w.predictor->TypicalInterval();
      ws.since_last_seen = now - w.last_seen;
      ws.lease_remaining = members_.LeaseRemaining(w, now);
      s.workers.push_back(std::move(ws));
      if (!rounds) continue;
      if (w.waiting_since.has_value()) {
        s.arrived.push_back(id);
        if (!s.first_arrival.has_value() || *w.waiting_since < *s.first_arrival) {
          s.first_arrival = *w.waiting_since;
        }
      } else if (w.IsRoundMember()) {
        s.missing.push_back(id);
        s.missing_names.push_back(w.name);
      }
    }
    if (rounds) s.planned_sync_time = rounds_.planned_sync_time();
    s.idle_fraction = idle_.Fraction(members_.workers(), now);
    s.staleness = Staleness();
    return s;
  }

  const std::string& name() const { return name_; }
  const PolicyConfig& policy() const { return policy_.config(); }
  absl::Time latest_event_time() const { return latest_event_time_; }
  void set_latest_event_time(absl::Time t) { latest_event_time_ = t; }

  // Runs `event` at max(now, the latest time of an accepted event): the
  // shell may read its clock before it takes the job's lock, so two events
  // can come in the other order, and a time that went back would make
  // negative waits and intervals. A rejected event does not move the time.
  template <typename Result, typename Event>
  Result At(absl::Time now, Event&& event) {
    const absl::Time t = std::max(now, latest_event_time_);
    Result result = event(t);
    if (result.ok()) latest_event_time_ = t;
    return result;
  }
  uint64_t membership_epoch() const { return members_.epoch(); }
  uint64_t membership_fingerprint() const { return members_.fingerprint(); }
  int live_workers() const { return members_.size(); }
  bool IsMember(WorkerId id) const { return members_.Contains(id); }
  std::string WorkerName(WorkerId id) const {
    auto it = members_.workers().find(id);
    return it == members_.workers().end() ? std::string() : it->second.name;
  }

 private:
  // The reasons to refuse a report's values (compute time, iteration);
  // changes nothing.
  absl::Status CheckReportValues(const WorkerRecord& w, int iteration,
                                 absl::Duration compute) const {
    const WorkerId id = w.id;
    // absl::Seconds(NaN) is an infinite duration, so this also catches NaN.
    if (compute == absl::InfiniteDuration() || compute == -absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "worker ", id, " reported an infinite or NaN compute time for iteration ", iteration));
    }
    if (compute < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("worker ", id, " reported compute time ",
                                                     absl::FormatDuration(compute),
                                                     ", which is negative"));
    }
    if (iteration < 1) {
      return absl::InvalidArgumentError(absl::StrCat("worker ", id, " reported iteration ",
                                                     iteration, "; iterations are 1-based"));
    }
    return absl::OkStatus();
  }

  // The report the worker made last, sent again (its reply was lost): answer
  // it as then, count it once.
  ReportResult AnswerAgain(WorkerRecord& w, absl::Time now) {
    w.last_seen = now;
    ReportResult again;
    again.retry = true;
    again.round = rounds_.round();
    if (policy_.HasRounds()) {
      again.action = Policy::AnswerRoundReport(w.done, w.target);
      again.target = w.target;
    } else {
      // The allowed lead it was given then; no new decision.
      again.action =
          Policy::AnswerClock(w.clock(), clocks_.Slowest().value_or(w.clock()), w.allowed_lead);
    }
    return again;
  }

  // The reasons to refuse a report at this point of the protocol (phase,
  // round, order, target), in the order they are reported; changes nothing.
  absl::Status CheckReportOrder(const WorkerRecord& w, uint64_t round, int iteration) const {
    const WorkerId id = w.id;
    const uint64_t current = rounds_.round();
    const bool rounds = policy_.HasRounds();
    if (rounds && w.phase == WorkerPhase::kPending) {
      return absl::FailedPreconditionError(absl::StrCat("worker ", id, " is pending until round ",
                                                        current + 1, " begins; call Barrier(",
                                                        current, ") first"));
    }
    if (w.phase == WorkerPhase::kAtBarrier) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", id, " reported iteration ", iteration,
                       " while waiting at the barrier of round ", current));
    }
    if (w.phase == WorkerPhase::kWaitingClock) {
      return absl::FailedPreconditionError(absl::StrCat(
          "worker ", id, " reported iteration ", iteration, " while waiting in WaitForClock"));
    }
    if (round != current) {
      return absl::FailedPreconditionError(absl::StrCat("worker ", id, " reported iteration ",
                                                        iteration, " in round ", round,
                                                        ", but the current round is ", current));
    }
    if (iteration != w.done + 1) {
      return absl::FailedPreconditionError(absl::StrCat("worker ", id, " reported iteration ",
                                                        iteration, " in round ", round,
                                                        ", expected ", w.done + 1));
    }
    if (rounds && w.done >= w.target) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", id, " reported iteration ", iteration, " in round ", round,
                       " beyond its target ", w.target, "; it must call Barrier(", round, ")"));
    }
    return absl::OkStatus();
  }

  // A report that passed every check: counts it and answers it.
  ReportResult ApplyReport(WorkerRecord& w, int iteration, absl::Duration compute, absl::Time now) {
    const bool rounds = policy_.HasRounds();
    if (rounds) {
      if (w.done == 0) rounds_.OnFirstIteration();
    } else {
      clocks_.Tick(w.clock(), w.id);
    }
    w.done = iteration;
    w.clock_released = false;
    ++w.iterations_total;
    w.last_compute = compute;
    w.last_seen = now;
    w.last_report_in_round = now;
    w.predictor->ObserveIteration(now, compute);

    ReportResult result;
    result.round = rounds_.round();
    if (rounds) {
      // The full view of the round is built only when the policy asks for a
      // re-plan: a report must stay O(1) for jobs of thousands of workers.
      Policy& policy = policy_.policy();
      if (std::optional<int> bound = policy.BindTarget(ViewOf(w), now); bound.has_value()) {
        // Late binding: the reporter's own target, decided now in O(R log n).
        w.target = *bound;
      } else if (policy.WantsReplan(ViewOf(w), now)) {
        std::vector<WorkerRecord*> members = RoundMembers();
        const size_t reporter =
            static_cast<size_t>(std::find(members.begin(), members.end(), &w) - members.begin());
        std::optional<RoundTargets> replanned = policy.Replan(ViewsOf(members), reporter, now);
        if (replanned.has_value()) ApplyTargets(members, *replanned, result.effects);
      }
      result.action = Policy::AnswerRoundReport(w.done, w.target);
      result.target = w.target;
    } else {
      ClockReport report;
      report.id = w.id;
      report.clock = w.clock();
      report.slowest_clock = clocks_.Slowest().value_or(w.clock());
      report.allowed_lead = w.allowed_lead;
      report.now = now;
      report.predictor = w.predictor.get();
      w.allowed_lead = policy_.policy().AllowedLead(report, [&] { return SlowestAdvance(); });
      result.action = Policy::AnswerClock(report.clock, report.slowest_clock, w.allowed_lead);
      result.target = 0;
      ReleaseClockWaiters(now, result.effects);
    }
    return result;
  }

  // DSSP: when the slowest clock is predicted to advance, i.e. the latest
  // predicted next report of the workers at it. O(workers at that clock).
  std::optional<absl::Time> SlowestAdvance() const {
    std::optional<absl::Time> latest;
    for (WorkerId id : clocks_.AtSlowest()) {
      const IterationPredictor& predictor = *members_.workers().at(id).predictor;
      if (!predictor.HasHistory()) return std::nullopt;
      const absl::Time next = predictor.Forecast(1).front();
      if (!latest.has_value() || next > *latest) latest = next;
    }
    return latest;
  }

  // As job_state.h defines it: iterations since the last point all live
  // workers shared (the round's barrier, or for ASP/SSP the slowest clock).
  uint64_t Staleness() const {
    if (!policy_.HasRounds()) return clocks_.Spread();
    uint64_t most_done = 0;
    for (const auto& [id, w] : members_.workers()) {
      if (w.IsRoundMember()) most_done = std::max(most_done, static_cast<uint64_t>(w.done));
    }
    return most_done;
  }

  std::vector<WorkerRecord*> RoundMembers() {
    std::vector<WorkerRecord*> members;
    members.reserve(members_.workers().size());
    for (auto& [id, w] : members_.workers()) {
      if (w.IsRoundMember()) members.push_back(&w);
    }
    return members;
  }

  void ApplyTargets(const std::vector<WorkerRecord*>& members, const RoundTargets& targets,
                    Effects& effects) {
    for (size_t i = 0; i < members.size() && i < targets.targets.size(); ++i) {
      members[i]->target = targets.targets[i];
    }
    rounds_.SetPlan(targets.sync_time, targets.predicted_wait);
    effects.planned = effects.planned || targets.planned;
  }

  // The targets of the current round for every member (all at done 0).
  void StartRoundTargets(absl::Time now, Effects& effects) {
    std::vector<WorkerRecord*> members = RoundMembers();
    ApplyTargets(members, policy_.policy().StartRound(ViewsOf(members), now), effects);
  }

  // By value: `policy` may be the pending change that applying it clears.
  void ApplyPolicy(PolicyConfig policy, absl::Time now) {
    if (policy_.HasRounds() && !policy.HasRounds()) {
      rounds_.ResetToRoundZero(now);  // Roundless policies keep round 0; the job is empty.
    }
    const bool new_predictors = policy_.Apply(std::move(policy));
    if (!policy_.HasRounds()) {
      // The old policy's allowed leads mean nothing to the new one.
      clocks_.ClearWaits();
      for (auto& [id, w] : members_.workers()) {
        w.allowed_lead = policy_.policy().BaseLead();
        // A release under the old bound is no answer to a WaitForClock now.
        w.clock_released = false;
        if (w.phase == WorkerPhase::kWaitingClock) clocks_.Wait(w);
      }
    }
    rounds_.ClearPlan();
    if (!new_predictors) return;
    // A different forecasting rule starts from no history: the old
    // predictor's state does not carry over.
    for (auto& [id, w] : members_.workers()) {
      w.predictor = policy_.NewPredictor(id);
      if (w.IsRoundMember()) w.predictor->StartRound(w.round_start);
    }
  }

  // Every part forgets `w`, then the membership removes it.
  void Remove(const WorkerRecord& w, absl::Time now, DepartureKind kind, std::string why) {
    const bool rounds = policy_.HasRounds();
    idle_.OnDeparted(w, now);
    rounds_.OnRemoved(w, rounds);
    if (rounds) policy_.policy().OnMemberRemoved(w.id);
    if (!rounds) clocks_.Leave(w);
    members_.Remove(w.id, kind, std::move(why));
  }

  void AfterDeparture(absl::Time now, Effects& effects) {
    if (policy_.HasRounds()) {
      MaybeReleaseBarrier(now, effects);
    } else {
      ReleaseClockWaiters(now, effects);
    }
  }

  void StampMembership(Release& release) const {
    release.membership_epoch = members_.epoch();
    release.membership_fingerprint = members_.fingerprint();
    release.live_workers = members_.size();
  }

  // SSP, DSSP: releases every waiting worker now within its allowed lead of
  // the slowest.
  void ReleaseClockWaiters(absl::Time now, Effects& effects) {
    const std::optional<uint64_t> slowest = clocks_.Slowest();
    if (!slowest.has_value()) return;
    for (WorkerId id : clocks_.TakeReleased()) {
      WorkerRecord& w = members_.workers().at(id);
      const absl::Duration waited = now - w.waiting_since.value_or(now);
      idle_.AddWait(waited);
      w.phase = WorkerPhase::kRunning;
      w.waiting_since.reset();
      w.clock_released = true;
      // The wait is not part of the next interval: the predictor sees the
      // release as the start of a round (its first gap, not an interval).
      w.predictor->StartRound(now);
      Release release{id, WaitKind::kClock, rounds_.round(), 0, waited};
      StampMembership(release);
      release.own_clock = w.clock();
      release.slowest_clock = *slowest;
      effects.releases.push_back(release);
    }
  }

  // Releases the barrier once every live member arrived; with no member
  // left, pending workers still move on so they are not stranded.
  void MaybeReleaseBarrier(absl::Time now, Effects& effects) {
    if (members_.empty()) return;
    if (hold_.Holds(now)) return;  // Restart hold.
    if (!rounds_.AllArrived(members_.workers().size())) return;

    RoundSummary summary;
    summary.round = rounds_.round();
    summary.began = rounds_.began();
    summary.released = now;
    summary.predicted_wait = rounds_.predicted_wait();
    struct Waiter {
      WorkerId id;
      absl::Duration waited;
    };
    std::vector<Waiter> waiters;
    for (const auto& [id, w] : members_.workers()) {
      if (!w.waiting_since.has_value()) continue;
      const absl::Duration waited = now - *w.waiting_since;
      waiters.push_back(Waiter{id, waited});
      idle_.AddWait(waited);
      if (w.IsRoundMember()) {
        summary.members.push_back(RoundSummary::Member{id, w.target, waited});
        summary.total_wait += waited;
      }
    }

    rounds_.Advance(now);
    if (policy_.pending().has_value()) ApplyPolicy(*policy_.pending(), now);
    for (auto& [id, w] : members_.workers()) {
      w.phase = WorkerPhase::kRunning;
      w.done = 0;
      w.last_report_in_round.reset();
      w.waiting_since.reset();
      w.round_start = now;
      w.predictor->StartRound(now);
    }
    StartRoundTargets(now, effects);
    last_release_ = Release{0, WaitKind::kBarrier, rounds_.round(), 0, absl::ZeroDuration()};
    StampMembership(last_release_);
    for (const Waiter& waiter : waiters) {
      Release release = last_release_;
      release.worker = waiter.id;
      release.target = members_.workers().at(waiter.id).target;
      release.waited = waiter.waited;
      effects.releases.push_back(release);
    }
    effects.rounds_completed.push_back(std::move(summary));
  }

  const std::string name_;
  absl::Time latest_event_time_;  // See At().
  Membership members_;
  PolicySwitch policy_;
  RoundBarrier rounds_;
  RestartHold hold_;
  SspClocks clocks_;
  IdleAccounting idle_;
  // The last barrier release (round, membership), answered again to a
  // worker that calls Barrier(round - 1) before its first report.
  Release last_release_;
};

JobState::JobState(std::string name, JobOptions options, absl::Time now)
    : impl_(std::make_unique<Impl>(std::move(name), std::move(options), now)) {}
JobState::~JobState() = default;

absl::StatusOr<RegisterResult> JobState::Register(WorkerId id, std::string_view name,
                                                  absl::Time now) {
  return Register(id, name, std::string_view(), now);
}
absl::StatusOr<RegisterResult> JobState::Register(WorkerId id, std::string_view name,
                                                  std::string_view request_id, absl::Time now) {
  return impl_->At<absl::StatusOr<RegisterResult>>(
      now, [&](absl::Time t) { return impl_->Register(id, name, request_id, t); });
}
absl::StatusOr<ReportResult> JobState::ReportIteration(WorkerId id, uint64_t round, int iteration,
                                                       absl::Duration compute, absl::Time now) {
  return impl_->At<absl::StatusOr<ReportResult>>(
      now, [&](absl::Time t) { return impl_->ReportIteration(id, round, iteration, compute, t); });
}
absl::StatusOr<Effects> JobState::ArriveAtBarrier(WorkerId id, uint64_t round, absl::Time now) {
  return impl_->At<absl::StatusOr<Effects>>(
      now, [&](absl::Time t) { return impl_->ArriveAtBarrier(id, round, t); });
}
absl::StatusOr<Effects> JobState::WaitForClock(WorkerId id, absl::Time now) {
  return impl_->At<absl::StatusOr<Effects>>(
      now, [&](absl::Time t) { return impl_->WaitForClock(id, t); });
}
absl::StatusOr<HeartbeatResult> JobState::Heartbeat(WorkerId id, absl::Time now) {
  return impl_->At<absl::StatusOr<HeartbeatResult>>(
      now, [&](absl::Time t) { return impl_->Heartbeat(id, t); });
}
absl::StatusOr<Effects> JobState::Leave(WorkerId id, absl::Time now) {
  return impl_->At<absl::StatusOr<Effects>>(now, [&](absl::Time t) { return impl_->Leave(id, t); });
}
Effects JobState::Tick(absl::Time now) {
  const absl::Time t = std::max(now, impl_->latest_event_time());
  impl_->set_latest_event_time(t);
  return impl_->Tick(t);
}
std::optional<absl::Time> JobState::NextLeaseExpiry() const { return impl_->NextLeaseExpiry(); }
void JobState::ExpectMembers(const std::vector<std::string>& names, absl::Time until) {
  impl_->ExpectMembers(names, until);
}
std::vector<std::string> JobState::LiveWorkerNames() const { return impl_->LiveWorkerNames(); }
absl::Status JobState::UpdatePolicy(const PolicyConfig& policy, absl::Time now) {
  return impl_->At<absl::Status>(now, [&](absl::Time t) { return impl_->UpdatePolicy(policy, t); });
}
JobSnapshot JobState::Snapshot(absl::Time now) const {
  return impl_->Snapshot(std::max(now, impl_->latest_event_time()));
}
uint64_t JobState::membership_epoch() const { return impl_->membership_epoch(); }
uint64_t JobState::membership_fingerprint() const { return impl_->membership_fingerprint(); }
const std::string& JobState::name() const { return impl_->name(); }
const PolicyConfig& JobState::policy() const { return impl_->policy(); }
int JobState::live_workers() const { return impl_->live_workers(); }
bool JobState::IsMember(WorkerId id) const { return impl_->IsMember(id); }
std::string JobState::WorkerName(WorkerId id) const { return impl_->WorkerName(id); }

}  // namespace ebsp::core
