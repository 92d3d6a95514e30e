#include "lib/core/job/job_state.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lib/core/job/departures.h"
#include "lib/core/job/membership_fingerprint.h"
#include "lib/core/job/names.h"
#include "lib/core/job/worker_record.h"
#include "lib/core/policy/policy.h"
#include "lib/core/string_view_compat.h"

namespace ebsp::core {

class JobState::Impl {
 public:
  Impl(std::string name, JobOptions options, absl::Time now)
      : name_(std::move(name)),
        options_(std::move(options)),
        latest_event_time_(now),
        policy_(Policy::Create(options_.policy)),
        round_began_(now) {}

  // ---- Events -------------------------------------------------------------

  absl::StatusOr<RegisterResult> Register(WorkerId id, std::string_view name,
                                          std::string_view request_id, absl::Time now) {
    if (absl::Status s = ValidateWorkerName(ToAbsl(name)); !s.ok()) return s;
    if (absl::Status s = ValidateRequestId(ToAbsl(request_id)); !s.ok()) return s;
    if (request_id.empty()) return Add(id, name, now);
    if (auto it = ids_by_request_.find(std::string(request_id)); it != ids_by_request_.end()) {
      WorkerRecord& w = workers_.at(it->second);
      if (w.name != name) {
        return absl::InvalidArgumentError(
            absl::StrCat("request_id \"", ToAbsl(request_id), "\" already registered worker \"",
                         w.name, "\" (", w.id, ") in job \"", name_, "\"; this Register names \"",
                         ToAbsl(name), "\": use a new request_id per logical call"));
      }
      w.last_seen = now;  // A sign of life, nothing else.
      RegisterResult again = w.registered_as;
      again.retry = true;
      return again;
    }
    absl::StatusOr<RegisterResult> result = Add(id, name, now);
    if (!result.ok()) return result;
    WorkerRecord& added = workers_.at(result->worker);
    added.register_request_id = std::string(request_id);
    added.registered_as = *result;
    added.registered_as.effects = Effects();
    ids_by_request_.emplace(added.register_request_id, added.id);
    return result;
  }

  absl::StatusOr<RegisterResult> Add(WorkerId id, std::string_view name, absl::Time now) {
    if (auto it = workers_.find(id); it != workers_.end()) {
      return absl::AlreadyExistsError(absl::StrCat("worker id ", id,
                                                   " is already registered in job \"", name_,
                                                   "\" as \"", it->second.name, "\""));
    }
    if (auto it = ids_by_name_.find(std::string(name)); it != ids_by_name_.end()) {
      return absl::AlreadyExistsError(absl::StrCat("worker name \"", ToAbsl(name),
                                                   "\" is already live in job \"", name_,
                                                   "\" as worker ", it->second));
    }
    if (static_cast<int64_t>(workers_.size()) >= options_.max_workers) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "job \"", name_, "\" already has ", workers_.size(), " live workers, its maximum"));
    }

    RegisterResult result;
    const bool rounds = options_.policy.HasRounds();
    const bool joins_next_round = rounds && RoundInProgress();
    if (rounds && !joins_next_round && pending_policy_.has_value()) {
      // No round in progress: the boundary the change waits for is now.
      ApplyPolicy(*pending_policy_, now);
    }

    WorkerRecord w;
    w.id = id;
    w.name = std::string(name);
    w.joined = now;
    w.last_seen = now;
    w.round_start = now;
    w.predictor = NewPredictor(id);
    if (!rounds) {
      w.clock_base = SlowestClock().value_or(0);
      w.allowed_lead = policy_->BaseLead();
      clocks_.emplace(w.clock_base, id);
    }
    w.phase = joins_next_round ? WorkerPhase::kPending : WorkerPhase::kRunning;
    if (joins_next_round) ++pending_workers_;
    if (!joins_next_round) w.predictor->StartRound(now);
    departures_.Forget(id);
    ids_by_name_.emplace(w.name, id);
    membership_fingerprint_ += NameFingerprint(w.name);
    auto [it, inserted] = workers_.emplace(id, std::move(w));
    ++membership_epoch_;
    result.effects.membership_changed = true;

    if (rounds && !joins_next_round) {
      if (std::optional<int> target = policy_->JoinTarget(View(it->second)); target.has_value()) {
        it->second.target = *target;
      } else {
        // Nobody has done anything in this round yet, so the whole round
        // can be planned again with the newcomer in it.
        StartRoundTargets(now, result.effects);
      }
    }
    if (awaited_.erase(it->second.name) > 0 && awaited_.empty()) {
      // The last name the restart hold waited for is back.
      hold_until_.reset();
      MaybeReleaseBarrier(now, result.effects);
    }
    const WorkerRecord& added = it->second;
    result.worker = id;
    result.phase = added.phase;
    // Pending: the round it joins. (A release just above made it a member
    // of the new round, which is then the current one.)
    result.round = added.phase == WorkerPhase::kPending ? round_ + 1 : round_;
    result.target = added.target;
    result.membership_epoch = membership_epoch_;
    result.membership_fingerprint = membership_fingerprint_;
    result.live_workers = static_cast<int>(workers_.size());
    return result;
  }

  absl::StatusOr<ReportResult> ReportIteration(WorkerId id, uint64_t round, int iteration,
                                               absl::Duration compute, absl::Time now) {
    absl::StatusOr<WorkerRecord*> found = Find(id);
    if (!found.ok()) return found.status();
    WorkerRecord& w = **found;
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
    const bool rounds = options_.policy.HasRounds();
    if (w.phase == WorkerPhase::kRunning && round == round_ && iteration == w.done) {
      // The report it made last, sent again (its reply was lost): answer it
      // as then, count it once.
      w.last_seen = now;
      ReportResult again;
      again.retry = true;
      again.round = round_;
      if (rounds) {
        again.action = Policy::AnswerRoundReport(w.done, w.target);
        again.target = w.target;
      } else {
        // The allowed lead it was given then; no new decision.
        again.action =
            Policy::AnswerClock(w.clock(), SlowestClock().value_or(w.clock()), w.allowed_lead);
      }
      return again;
    }
    if (rounds && w.phase == WorkerPhase::kPending) {
      return absl::FailedPreconditionError(absl::StrCat("worker ", id, " is pending until round ",
                                                        round_ + 1, " begins; call Barrier(",
                                                        round_, ") first"));
    }
    if (w.phase == WorkerPhase::kAtBarrier) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", id, " reported iteration ", iteration,
                       " while waiting at the barrier of round ", round_));
    }
    if (w.phase == WorkerPhase::kWaitingClock) {
      return absl::FailedPreconditionError(absl::StrCat(
          "worker ", id, " reported iteration ", iteration, " while waiting in WaitForClock"));
    }
    if (round != round_) {
      return absl::FailedPreconditionError(absl::StrCat("worker ", id, " reported iteration ",
                                                        iteration, " in round ", round,
                                                        ", but the current round is ", round_));
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

    if (rounds) {
      if (w.done == 0) ++members_with_progress_;
    } else {
      MoveClock(w.clock(), w.clock() + 1, id);
    }
    w.done = iteration;
    w.clock_released = false;
    ++w.iterations_total;
    w.last_compute = compute;
    w.last_seen = now;
    w.last_report_in_round = now;
    w.predictor->ObserveIteration(now, compute);

    ReportResult result;
    result.round = round_;
    if (rounds) {
      // The full view of the round is built only when the policy asks for a
      // re-plan: a report must stay O(1) for jobs of thousands of workers.
      if (policy_->WantsReplan(View(w), now)) {
        std::vector<WorkerRecord*> members = RoundMembers();
        const size_t reporter =
            static_cast<size_t>(std::find(members.begin(), members.end(), &w) - members.begin());
        std::optional<RoundTargets> replanned = policy_->Replan(Views(members), reporter, now);
        if (replanned.has_value()) ApplyTargets(members, *replanned, result.effects);
      }
      result.action = Policy::AnswerRoundReport(w.done, w.target);
      result.target = w.target;
    } else {
      ClockReport report;
      report.id = id;
      report.clock = w.clock();
      report.slowest_clock = SlowestClock().value_or(w.clock());
      report.allowed_lead = w.allowed_lead;
      report.now = now;
      report.predictor = w.predictor.get();
      w.allowed_lead = policy_->AllowedLead(report, [&] { return SlowestAdvance(); });
      result.action = Policy::AnswerClock(report.clock, report.slowest_clock, w.allowed_lead);
      result.target = 0;
      ReleaseClockWaiters(now, result.effects);
    }
    return result;
  }

  absl::StatusOr<Effects> ArriveAtBarrier(WorkerId id, uint64_t round, absl::Time now) {
    absl::StatusOr<WorkerRecord*> found = Find(id);
    if (!found.ok()) return found.status();
    WorkerRecord& w = **found;
    Effects effects;
    if (!options_.policy.HasRounds()) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", id, " called Barrier(", round, ") but job \"", name_, "\" runs ",
                       ToAbsl(PolicyKindName(options_.policy.kind)), ", which has no barriers"));
    }
    if (w.phase == WorkerPhase::kPending) {
      if (round != round_) {
        return absl::FailedPreconditionError(
            absl::StrCat("worker ", id, " is pending and waits at the barrier of round ", round_,
                         ", not ", round));
      }
      w.last_seen = now;
      if (!w.waiting_since.has_value()) w.waiting_since = now;
      return effects;  // A pending arrival never completes the barrier.
    }
    if (round_ > 0 && round == round_ - 1 && w.done == 0 && w.phase == WorkerPhase::kRunning) {
      // The barrier it names already released (its reply was lost, or it was
      // pending and late): answer again with what that release gave it.
      w.last_seen = now;
      effects.releases.push_back(
          Release{id, WaitKind::kBarrier, round_, w.target, absl::ZeroDuration()});
      return effects;
    }
    if (round != round_) {
      return absl::FailedPreconditionError(absl::StrCat("worker ", id, " called Barrier(", round,
                                                        ") but the current round is ", round_));
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
    ++arrived_members_;
    MaybeReleaseBarrier(now, effects);
    return effects;
  }

  absl::StatusOr<Effects> WaitForClock(WorkerId id, absl::Time now) {
    absl::StatusOr<WorkerRecord*> found = Find(id);
    if (!found.ok()) return found.status();
    WorkerRecord& w = **found;
    if (!options_.policy.HasClocks()) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", id, " called WaitForClock but job \"", name_, "\" runs ",
                       ToAbsl(PolicyKindName(options_.policy.kind)),
                       ", which has no clocks; only ssp and dssp do"));
    }
    Effects effects;
    w.last_seen = now;
    if (w.phase == WorkerPhase::kWaitingClock) return effects;  // A retry.
    if (w.clock_released) {
      // Released before and has not reported since: its reply was lost.
      Release again{id, WaitKind::kClock, round_, 0, absl::ZeroDuration()};
      again.own_clock = w.clock();
      again.slowest_clock = SlowestClock().value_or(w.clock());
      effects.releases.push_back(again);
      return effects;
    }
    w.phase = WorkerPhase::kWaitingClock;
    w.waiting_since = now;
    clock_waiters_.emplace(w.ReleaseClock(), id);
    ReleaseClockWaiters(now, effects);
    return effects;
  }

  absl::StatusOr<HeartbeatResult> Heartbeat(WorkerId id, absl::Time now) {
    absl::StatusOr<WorkerRecord*> found = Find(id);
    if (!found.ok()) return found.status();
    (*found)->last_seen = now;
    return HeartbeatResult{round_, membership_epoch_, membership_fingerprint_,
                           options_.heartbeat_timeout};
  }

  absl::StatusOr<Effects> Leave(WorkerId id, absl::Time now) {
    if (!IsMember(id) && departures_.Left(id)) return Effects();  // A retry.
    absl::StatusOr<WorkerRecord*> found = Find(id);
    if (!found.ok()) return found.status();
    Effects effects;
    Remove(id, now, DepartureKind::kLeft, "left the job; register again to rejoin");
    effects.membership_changed = true;
    AfterDeparture(now, effects);
    return effects;
  }

  Effects Tick(absl::Time now) {
    Effects effects;
    if (hold_until_.has_value() && now >= *hold_until_) {
      // The names not back by now are taken as gone.
      awaited_.clear();
      hold_until_.reset();
      if (options_.policy.HasRounds()) MaybeReleaseBarrier(now, effects);
    }
    std::vector<WorkerId> expired;
    for (const auto& [id, w] : workers_) {
      if (w.last_seen + options_.heartbeat_timeout < now) expired.push_back(id);
    }
    if (expired.empty()) return effects;
    for (WorkerId id : expired) {
      const WorkerRecord& w = workers_.at(id);
      effects.evictions.push_back(
          Eviction{id, w.name, EvictionReason::kLeaseExpired, w.waiting_since.has_value()});
      Remove(
          id, now, DepartureKind::kEvicted,
          absl::StrCat("was evicted from job \"", name_, "\": silent longer than its ",
                       absl::FormatDuration(options_.heartbeat_timeout), " lease; register again"));
      ++evictions_total_;
    }
    effects.membership_changed = true;
    AfterDeparture(now, effects);
    return effects;
  }

  std::optional<absl::Time> NextLeaseExpiry() const {
    std::optional<absl::Time> earliest;
    for (const auto& [id, w] : workers_) {
      const absl::Time expiry = w.last_seen + options_.heartbeat_timeout;
      if (!earliest.has_value() || expiry < *earliest) earliest = expiry;
    }
    return earliest;
  }

  void ExpectMembers(const std::vector<std::string>& names, absl::Time until) {
    awaited_.clear();
    hold_until_.reset();
    if (!options_.policy.HasRounds()) return;
    for (const std::string& name : names) {
      if (ids_by_name_.count(name) == 0) awaited_.insert(name);
    }
    if (!awaited_.empty()) hold_until_ = until;
  }

  std::vector<std::string> LiveWorkerNames() const {
    std::vector<std::string> names;
    names.reserve(ids_by_name_.size());
    for (const auto& [name, id] : ids_by_name_) names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::Status UpdatePolicy(const PolicyConfig& policy, absl::Time now) {
    if (absl::Status s = policy.Validate(); !s.ok()) return s;
    if (policy.HasRounds() != options_.policy.HasRounds() && !workers_.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job \"", name_, "\" cannot switch from ", ToAbsl(PolicyKindName(options_.policy.kind)),
          " to ", ToAbsl(PolicyKindName(policy.kind)), " while it has ", workers_.size(),
          " workers: rounds and roundless policies need an empty job to switch"));
    }
    if (options_.policy.HasRounds() && RoundInProgress()) {
      pending_policy_ = policy;
      return absl::OkStatus();
    }
    ApplyPolicy(policy, now);
    if (options_.policy.HasRounds() && !workers_.empty()) {
      Effects ignored;  // Targets of a round nobody started; reported on use.
      StartRoundTargets(now, ignored);
    }
    return absl::OkStatus();
  }

  JobSnapshot Snapshot(absl::Time now) const {
    JobSnapshot s;
    s.name = name_;
    s.options = options_;
    s.options.predictor_factory = nullptr;
    s.pending_policy = pending_policy_;
    s.round = round_;
    s.membership_epoch = membership_epoch_;
    s.membership_fingerprint = membership_fingerprint_;
    s.awaited_names.assign(awaited_.begin(), awaited_.end());
    std::sort(s.awaited_names.begin(), s.awaited_names.end());
    s.hold_until = hold_until_;
    s.round_began = round_began_;
    s.rounds_completed = rounds_completed_;
    s.evictions_total = evictions_total_;
    const bool rounds = options_.policy.HasRounds();
    absl::Duration waited = wait_total_;
    absl::Duration lived = departed_live_time_;
    for (const auto& [id, w] : workers_) {
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
      ws.lease_remaining =
          std::max(absl::ZeroDuration(), w.last_seen + options_.heartbeat_timeout - now);
      s.workers.push_back(std::move(ws));
      lived += now - w.joined;
      if (w.waiting_since.has_value()) waited += now - *w.waiting_since;
      if (!rounds) continue;
      const bool arrived = w.waiting_since.has_value();
      if (arrived) {
        s.arrived.push_back(id);
        if (!s.first_arrival.has_value() || *w.waiting_since < *s.first_arrival) {
          s.first_arrival = *w.waiting_since;
        }
      } else if (w.IsRoundMember()) {
        s.missing.push_back(id);
        s.missing_names.push_back(w.name);
      }
    }
    if (rounds) s.planned_sync_time = planned_sync_time_;
    s.idle_fraction = lived > absl::ZeroDuration() ? absl::FDivDuration(waited, lived) : 0.0;
    s.staleness = Staleness();
    return s;
  }

  const std::string& name() const { return name_; }
  const PolicyConfig& policy() const { return options_.policy; }
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
  uint64_t membership_epoch() const { return membership_epoch_; }
  uint64_t membership_fingerprint() const { return membership_fingerprint_; }
  int live_workers() const { return static_cast<int>(workers_.size()); }
  bool IsMember(WorkerId id) const { return workers_.count(id) > 0; }

 private:
  absl::StatusOr<WorkerRecord*> Find(WorkerId id) {
    auto it = workers_.find(id);
    if (it != workers_.end()) return &it->second;
    std::string why = departures_.Explain(id);
    if (why.empty()) {
      why =
          absl::StrCat("worker ", id, " is not registered in job \"", name_, "\"; register again");
    }
    return absl::NotFoundError(why);
  }

  std::unique_ptr<IterationPredictor> NewPredictor(WorkerId id) const {
    if (options_.predictor_factory) return options_.predictor_factory(id);
    return MakePredictor(options_.policy.predictor);
  }

  // A round is in progress once a live member has finished an iteration in
  // it (a member at the barrier has, since every target is at least 1).
  bool RoundInProgress() const { return members_with_progress_ > 0; }

  // Roundless only: clocks are indexed so that a report costs O(log n).
  std::optional<uint64_t> SlowestClock() const {
    if (clocks_.empty()) return std::nullopt;
    return clocks_.begin()->first;
  }

  void MoveClock(uint64_t from, uint64_t to, WorkerId id) {
    clocks_.erase({from, id});
    clocks_.emplace(to, id);
  }

  // DSSP: when the slowest clock is predicted to advance, i.e. the latest
  // predicted next report of the workers at it. O(workers at that clock).
  std::optional<absl::Time> SlowestAdvance() const {
    std::optional<absl::Time> latest;
    for (auto it = clocks_.begin(); it != clocks_.end() && it->first == clocks_.begin()->first;
         ++it) {
      const IterationPredictor& predictor = *workers_.at(it->second).predictor;
      if (!predictor.HasHistory()) return std::nullopt;
      const absl::Time next = predictor.Forecast(1).front();
      if (!latest.has_value() || next > *latest) latest = next;
    }
    return latest;
  }

  // As job_state.h defines it: iterations since the last point all live
  // workers shared (the round's barrier, or for ASP/SSP the slowest clock).
  uint64_t Staleness() const {
    if (options_.policy.HasRounds()) {
      uint64_t most_done = 0;
      for (const auto& [id, w] : workers_) {
        if (w.IsRoundMember()) most_done = std::max(most_done, static_cast<uint64_t>(w.done));
      }
      return most_done;
    }
    // clocks_ holds every live worker's clock, in order.
    if (clocks_.empty()) return 0;
    return clocks_.rbegin()->first - clocks_.begin()->first;
  }

  std::vector<WorkerRecord*> RoundMembers() {
    std::vector<WorkerRecord*> members;
    members.reserve(workers_.size());
    for (auto& [id, w] : workers_) {
      if (w.IsRoundMember()) members.push_back(&w);
    }
    return members;
  }

  static RoundMember View(const WorkerRecord& w) {
    RoundMember v;
    v.id = w.id;
    v.done = w.done;
    v.target = w.target;
    const bool at_barrier = w.phase == WorkerPhase::kAtBarrier;
    v.pinned = at_barrier || (w.done > 0 && w.done >= w.target);
    v.pinned_at = at_barrier ? w.waiting_since.value_or(w.round_start)
                             : w.last_report_in_round.value_or(w.round_start);
    v.round_start = w.round_start;
    v.last_report = w.last_report_in_round;
    v.predictor = w.predictor.get();
    return v;
  }

  static std::vector<RoundMember> Views(const std::vector<WorkerRecord*>& members) {
    std::vector<RoundMember> views;
    views.reserve(members.size());
    for (const WorkerRecord* w : members) views.push_back(View(*w));
    return views;
  }

  void ApplyTargets(const std::vector<WorkerRecord*>& members, const RoundTargets& targets,
                    Effects& effects) {
    for (size_t i = 0; i < members.size() && i < targets.targets.size(); ++i) {
      members[i]->target = targets.targets[i];
    }
    planned_sync_time_ = targets.sync_time;
    predicted_wait_ = targets.predicted_wait;
    effects.planned = effects.planned || targets.planned;
  }

  // The targets of the current round for every member (all at done 0).
  void StartRoundTargets(absl::Time now, Effects& effects) {
    std::vector<WorkerRecord*> members = RoundMembers();
    ApplyTargets(members, policy_->StartRound(Views(members), now), effects);
  }

  void ApplyPolicy(const PolicyConfig& policy, absl::Time now) {
    const bool new_predictors =
        !options_.predictor_factory && policy.predictor != options_.policy.predictor;
    if (options_.policy.HasRounds() && !policy.HasRounds()) {
      round_ = 0;  // Roundless policies keep round 0; the job is empty here.
      round_began_ = now;
    }
    options_.policy = policy;
    policy_ = Policy::Create(policy);
    if (!policy.HasRounds()) {
      // The old policy's allowed leads mean nothing to the new one.
      clock_waiters_.clear();
      for (auto& [id, w] : workers_) {
        w.allowed_lead = policy_->BaseLead();
        if (w.phase == WorkerPhase::kWaitingClock) clock_waiters_.emplace(w.ReleaseClock(), id);
      }
    }
    pending_policy_.reset();
    planned_sync_time_.reset();
    predicted_wait_ = absl::ZeroDuration();
    if (!new_predictors) return;
    // A different forecasting rule starts from no history: the old
    // predictor's state does not carry over.
    for (auto& [id, w] : workers_) {
      w.predictor = NewPredictor(id);
      if (w.IsRoundMember()) w.predictor->StartRound(w.round_start);
    }
  }

  void Remove(WorkerId id, absl::Time now, DepartureKind kind, std::string why) {
    auto it = workers_.find(id);
    WorkerRecord& w = it->second;
    departed_live_time_ += now - w.joined;
    if (w.waiting_since.has_value()) wait_total_ += now - *w.waiting_since;
    if (w.phase == WorkerPhase::kPending) --pending_workers_;
    if (w.phase == WorkerPhase::kAtBarrier) --arrived_members_;
    if (w.IsRoundMember() && w.done > 0 && options_.policy.HasRounds()) --members_with_progress_;
    if (!options_.policy.HasRounds()) {
      clocks_.erase({w.clock(), id});
      if (w.phase == WorkerPhase::kWaitingClock) clock_waiters_.erase({w.ReleaseClock(), id});
    }
    ids_by_name_.erase(w.name);
    if (!w.register_request_id.empty()) ids_by_request_.erase(w.register_request_id);
    membership_fingerprint_ -= NameFingerprint(w.name);
    departures_.Record(id, w.name, kind, std::move(why));
    workers_.erase(it);
    ++membership_epoch_;
  }

  void AfterDeparture(absl::Time now, Effects& effects) {
    if (options_.policy.HasRounds()) {
      MaybeReleaseBarrier(now, effects);
    } else {
      ReleaseClockWaiters(now, effects);
    }
  }

  // SSP, DSSP: releases every waiting worker now within its allowed lead of
  // the slowest.
  void ReleaseClockWaiters(absl::Time now, Effects& effects) {
    const std::optional<uint64_t> slowest = SlowestClock();
    if (!slowest.has_value()) return;
    // Waiters sorted by release clock: the ones released are a prefix.
    while (!clock_waiters_.empty()) {
      const auto [release_clock, id] = *clock_waiters_.begin();
      if (release_clock > *slowest) break;
      clock_waiters_.erase(clock_waiters_.begin());
      WorkerRecord& w = workers_.at(id);
      const uint64_t clock = w.clock();
      const absl::Duration waited = now - w.waiting_since.value_or(now);
      wait_total_ += waited;
      w.phase = WorkerPhase::kRunning;
      w.waiting_since.reset();
      w.clock_released = true;
      // The wait is not part of the next interval: the predictor sees the
      // release as the start of a round (its first gap, not an interval).
      w.predictor->StartRound(now);
      Release release{id, WaitKind::kClock, round_, 0, waited};
      release.own_clock = clock;
      release.slowest_clock = *slowest;
      effects.releases.push_back(release);
    }
  }

  // Releases the barrier once every live member arrived; with no member
  // left, pending workers still move on so they are not stranded.
  void MaybeReleaseBarrier(absl::Time now, Effects& effects) {
    if (workers_.empty()) return;
    if (hold_until_.has_value() && now < *hold_until_) return;  // Restart hold.
    const size_t members = workers_.size() - pending_workers_;
    if (arrived_members_ < members) return;

    RoundSummary summary;
    summary.round = round_;
    summary.began = round_began_;
    summary.released = now;
    summary.predicted_wait = predicted_wait_;
    struct Waiter {
      WorkerId id;
      absl::Duration waited;
    };
    std::vector<Waiter> waiters;
    for (const auto& [id, w] : workers_) {
      if (!w.waiting_since.has_value()) continue;
      const absl::Duration waited = now - *w.waiting_since;
      waiters.push_back(Waiter{id, waited});
      wait_total_ += waited;
      if (w.IsRoundMember()) {
        summary.members.push_back(RoundSummary::Member{id, w.target, waited});
        summary.total_wait += waited;
      }
    }

    ++round_;
    ++rounds_completed_;
    round_began_ = now;
    pending_workers_ = 0;
    arrived_members_ = 0;
    members_with_progress_ = 0;
    if (pending_policy_.has_value()) ApplyPolicy(*pending_policy_, now);
    for (auto& [id, w] : workers_) {
      w.phase = WorkerPhase::kRunning;
      w.done = 0;
      w.last_report_in_round.reset();
      w.waiting_since.reset();
      w.round_start = now;
      w.predictor->StartRound(now);
    }
    StartRoundTargets(now, effects);
    for (const Waiter& waiter : waiters) {
      effects.releases.push_back(Release{waiter.id, WaitKind::kBarrier, round_,
                                         workers_.at(waiter.id).target, waiter.waited});
    }
    effects.rounds_completed.push_back(std::move(summary));
  }

  std::string name_;
  JobOptions options_;
  absl::Time latest_event_time_;  // See At().
  std::optional<PolicyConfig> pending_policy_;
  std::unique_ptr<Policy> policy_;
  std::map<WorkerId, WorkerRecord> workers_;  // Ordered: snapshots sort by id.
  absl::flat_hash_map<std::string, WorkerId> ids_by_name_;
  // Register idempotency keys of live workers (WorkerRecord has the answer).
  absl::flat_hash_map<std::string, WorkerId> ids_by_request_;
  // Rounds: counts that keep each event O(1) instead of a scan of workers_.
  size_t pending_workers_ = 0;
  size_t arrived_members_ = 0;        // Members at the barrier.
  size_t members_with_progress_ = 0;  // Members with done > 0.
  // Roundless: every live worker by (clock, id), and waiters by
  // (WorkerRecord::ReleaseClock(), id).
  std::set<std::pair<uint64_t, WorkerId>> clocks_;
  std::set<std::pair<uint64_t, WorkerId>> clock_waiters_;
  Departures departures_;
  uint64_t round_ = 0;
  absl::Time round_began_;
  uint64_t membership_epoch_ = 0;
  uint64_t membership_fingerprint_ = 0;  // Sum of NameFingerprint of live names.
  // Restart hold: names not back yet, and the deadline (set iff non-empty).
  absl::flat_hash_set<std::string> awaited_;
  std::optional<absl::Time> hold_until_;
  uint64_t rounds_completed_ = 0;
  uint64_t evictions_total_ = 0;
  std::optional<absl::Time> planned_sync_time_;
  absl::Duration predicted_wait_;
  // Completed waits (barrier and clock) and the live time of departed
  // workers, for the idle fraction.
  absl::Duration wait_total_;
  absl::Duration departed_live_time_;
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

}  // namespace ebsp::core
