#include "service/job_entry.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "lib/log/log.h"
#include "service/proto_convert.h"

namespace ebsp::server {
namespace {

std::string NotFoundAfterEviction(const core::Eviction& eviction, absl::Duration timeout) {
  return absl::StrFormat(
      "worker %d (\"%s\") evicted: lease expired after %s of silence; "
      "register again",
      eviction.worker, eviction.name, absl::FormatDuration(timeout));
}

}  // namespace

JobEntry::JobEntry(std::string name, core::JobOptions options, JobOrigin origin, absl::Time now,
                   std::unique_ptr<JobMetrics> metrics)
    : name_(std::move(name)),
      origin_(std::move(origin)),
      heartbeat_timeout_(options.heartbeat_timeout),
      state_(name_, std::move(options), now),
      metrics_(std::move(metrics)) {
  if (metrics_ != nullptr) {
    slot_used_.assign(static_cast<size_t>(metrics_->max_worker_slots()), false);
    metrics_->membership_epoch().Set(static_cast<double>(state_.membership_epoch()));
  }
}

JobEntry::~JobEntry() = default;

absl::Status JobEntry::Persist(JobStore& store, const NumberedRecord& record) {
  absl::MutexLock lock(&persist_mu_);
  if (unpersisted_ || record.seq <= persisted_seq_) return absl::OkStatus();
  absl::Status written = store.Put(record.record);
  if (written.ok()) persisted_seq_ = record.seq;
  return written;
}

absl::Status JobEntry::Unpersist(JobStore& store) {
  absl::MutexLock lock(&persist_mu_);
  absl::Status deleted = store.Delete(name_);
  // A record that could not be removed stays the job's: later writes of it
  // (rosters, policy) still go to the store.
  unpersisted_ = deleted.ok();
  return deleted;
}

void JobEntry::ApplyEffects(const core::Effects& effects, absl::Duration event_time,
                            Completions* out) {
  if (effects.releases.empty() && effects.evictions.empty() && effects.rounds_completed.empty() &&
      !effects.membership_changed && !effects.planned) {
    return;
  }
  const uint64_t epoch = state_.membership_epoch();
  if (effects.membership_changed) roster_dirty_ = true;

  for (const core::Eviction& eviction : effects.evictions) {
    log::Event(log::Level::kWarning, "worker_evicted",
               {{"job", name_},
                {"worker", eviction.name},
                {"worker_id", eviction.worker},
                {"reason", "lease_expired"},
                {"silence_s", absl::StrFormat("%.1f", absl::ToDoubleSeconds(eviction.silence))},
                {"lease_s", absl::ToDoubleSeconds(heartbeat_timeout_)},
                {"was_waiting", eviction.was_waiting},
                {"live_workers", state_.live_workers()}});
    FreeSlot(eviction.worker);
    if (metrics_ != nullptr) {
      switch (eviction.reason) {
        case core::EvictionReason::kLeaseExpired:
          metrics_->evictions_lease_expired().Increment();
          break;
      }
    }
    auto it = waiting_.find(eviction.worker);
    if (it == waiting_.end()) continue;
    out->Add(it->second, WaitOutcome::Failed(absl::NotFoundError(
                             NotFoundAfterEviction(eviction, heartbeat_timeout_))));
    waiting_.erase(it);
  }

  if (!effects.releases.empty()) {
    for (const core::Release& release : effects.releases) {
      WaitOutcome outcome;
      outcome.release = release;
      // The core stamps each release with the membership it released.
      outcome.membership_epoch = release.membership_epoch;
      outcome.membership_fingerprint = release.membership_fingerprint;
      outcome.live_workers = release.live_workers;
      if (release.kind == core::WaitKind::kBarrier) SetTarget(release.worker, release.target);
      auto it = waiting_.find(release.worker);
      // No parked call: the client gave up after its arrival counted. Its
      // retry of Barrier(round - 1) is answered again by the core.
      if (it == waiting_.end()) continue;
      out->Add(it->second, std::move(outcome));
      waiting_.erase(it);
    }
  }

  // A requested policy takes effect at a round boundary: checked only when
  // a round completed while a request is pending (never per iteration).
  if (pending_policy_.has_value() && !effects.rounds_completed.empty()) {
    CheckPolicyApplied(effects.rounds_completed.back().round + 1);
  }

  if (metrics_ == nullptr) return;
  JobMetrics& m = *metrics_;
  if (effects.planned) m.planning_seconds().Observe(absl::ToDoubleSeconds(event_time));
  for (const core::RoundSummary& round : effects.rounds_completed) {
    m.rounds_total().Increment();
    for (const core::RoundSummary::Member& member : round.members) {
      m.barrier_wait_seconds().Observe(absl::ToDoubleSeconds(member.waited));
    }
    m.round_wait_seconds_total().Increment(absl::ToDoubleSeconds(round.total_wait));
    m.round_predicted_wait_seconds_total().Increment(
        std::max(0.0, absl::ToDoubleSeconds(round.predicted_wait)));
    m.round().Set(static_cast<double>(round.round + 1));
  }
  if (effects.membership_changed) {
    m.live_workers().Set(state_.live_workers());
    m.membership_epoch().Set(static_cast<double>(epoch));
  }
  if (!effects.releases.empty() || !effects.evictions.empty()) UpdateWaitingGauge();
}

void JobEntry::Park(WaitingCall* call, Completions* out) {
  auto [it, inserted] = waiting_.try_emplace(call->worker(), call);
  if (!inserted) {
    out->Add(it->second, WaitOutcome::Failed(absl::CancelledError(absl::StrCat(
                             "superseded by a newer wait call of worker ", call->worker()))));
    it->second = call;
  }
  UpdateWaitingGauge();
}

bool JobEntry::Unpark(WaitingCall* call) {
  auto it = waiting_.find(call->worker());
  if (it == waiting_.end() || it->second != call) return false;
  waiting_.erase(it);
  UpdateWaitingGauge();
  return true;
}

void JobEntry::OnRegistered(const core::RegisterResult& result) {
  AssignSlot(result.worker, result.target);
  if (metrics_ != nullptr) {
    metrics_->registrations_total().Increment();
    metrics_->live_workers().Set(result.live_workers);
  }
}

void JobEntry::OnReported(core::WorkerId worker, int target, absl::Duration compute) {
  if (metrics_ == nullptr) return;
  metrics_->iterations_total().Increment();
  metrics_->iteration_seconds().Observe(absl::ToDoubleSeconds(compute));
  SetTarget(worker, target);
}

void JobEntry::ExpireWaits(absl::Time now, absl::Duration deadline, Completions* out) {
  absl::Duration oldest = absl::ZeroDuration();
  std::vector<WaitingCall*> expired;
  for (const auto& [worker, call] : waiting_) {
    const absl::Duration age = now - call->started();
    if (age >= deadline) {
      expired.push_back(call);
    } else {
      oldest = std::max(oldest, age);
    }
  }
  if (!expired.empty()) {
    const core::JobSnapshot snap = state_.Snapshot(now);
    std::vector<std::string> missing;
    missing.reserve(snap.missing.size());
    for (size_t i = 0; i < snap.missing.size(); ++i) {
      missing.push_back(absl::StrFormat(
          "%s (%d)", i < snap.missing_names.size() ? snap.missing_names[i] : "?", snap.missing[i]));
    }
    // For SSP waits, the ones holding the caller back are the slowest.
    std::vector<std::string> slowest;
    uint64_t min_total = std::numeric_limits<uint64_t>::max();
    for (const core::WorkerSnapshot& w : snap.workers)
      min_total = std::min(min_total, w.iterations_total);
    for (const core::WorkerSnapshot& w : snap.workers) {
      if (w.iterations_total == min_total) {
        slowest.push_back(absl::StrFormat("%s (%d)", w.name, w.worker));
      }
    }
    const size_t barrier_calls = std::count_if(expired.begin(), expired.end(), [](WaitingCall* c) {
      return c->kind() == core::WaitKind::kBarrier;
    });
    if (barrier_calls > 0) {
      log::Event(log::Level::kWarning, "barrier_deadline_passed",
                 {{"job", name_},
                  {"round", snap.round},
                  {"deadline_s", absl::ToDoubleSeconds(deadline)},
                  {"calls_failed", barrier_calls},
                  {"missing", missing.empty() ? "none" : absl::StrJoin(missing, ", ")}});
    }
    if (barrier_calls < expired.size()) {
      log::Event(log::Level::kWarning, "clock_wait_deadline_passed",
                 {{"job", name_},
                  {"deadline_s", absl::ToDoubleSeconds(deadline)},
                  {"calls_failed", expired.size() - barrier_calls},
                  {"slowest_iterations", min_total},
                  {"slowest", absl::StrJoin(slowest, ", ")}});
    }
    for (WaitingCall* call : expired) {
      waiting_.erase(call->worker());
      WaitOutcome outcome;
      if (call->kind() == core::WaitKind::kBarrier) {
        outcome.status = absl::DeadlineExceededError(
            absl::StrFormat("barrier of round %d not released after %s; "
                            "missing workers: %s",
                            snap.round, absl::FormatDuration(deadline),
                            missing.empty() ? "none" : absl::StrJoin(missing, ", ")));
      } else {
        outcome.status = absl::DeadlineExceededError(absl::StrFormat(
            "WaitForClock not released after %s; slowest "
            "workers (at %d iterations): %s",
            absl::FormatDuration(deadline), min_total, absl::StrJoin(slowest, ", ")));
      }
      out->Add(call, std::move(outcome));
    }
  }
  UpdateWaitingGauge();
  if (metrics_ != nullptr) {
    metrics_->barrier_oldest_wait_seconds().Set(absl::ToDoubleSeconds(oldest));
  }
}

void JobEntry::RefreshGauges(absl::Time now) {
  if (metrics_ == nullptr) return;
  const core::JobSnapshot snap = state_.Snapshot(now);
  metrics_->live_workers().Set(state_.live_workers());
  metrics_->round().Set(static_cast<double>(snap.round));
  metrics_->membership_epoch().Set(static_cast<double>(snap.membership_epoch));
  metrics_->idle_fraction().Set(snap.idle_fraction);
  metrics_->staleness_iterations().Set(static_cast<double>(snap.staleness));
  std::vector<core::WorkerInterval> intervals;
  intervals.reserve(snap.workers.size());
  for (const core::WorkerSnapshot& w : snap.workers) {
    intervals.push_back({w.worker, w.name, w.last_compute});
  }
  metrics_->SetStragglers(core::SlowestWorkers(std::move(intervals), kStragglerSeries));
}

void JobEntry::FailParked(core::WorkerId worker, const absl::Status& status, Completions* out) {
  auto it = waiting_.find(worker);
  if (it == waiting_.end()) return;
  out->Add(it->second, WaitOutcome::Failed(status));
  waiting_.erase(it);
  UpdateWaitingGauge();
}

void JobEntry::DrainWaits(const absl::Status& status, Completions* out) {
  for (const auto& [worker, call] : waiting_) {
    out->Add(call, WaitOutcome::Failed(status));
  }
  waiting_.clear();
  UpdateWaitingGauge();
}

absl::Status JobEntry::DeletedStatus() const {
  return absl::NotFoundError(absl::StrCat("job \"", name_, "\" was deleted"));
}

void JobEntry::MarkDeleted(Completions* out) {
  deleted_ = true;
  DrainWaits(DeletedStatus(), out);
  metrics_.reset();
}

void JobEntry::AssignSlot(core::WorkerId worker, int target) {
  auto free = std::find(slot_used_.begin(), slot_used_.end(), false);
  if (free == slot_used_.end()) return;  // Beyond the series cap: no series.
  *free = true;
  const int slot = static_cast<int>(free - slot_used_.begin());
  slot_of_[worker] = slot;
  if (metrics_ != nullptr) metrics_->SetWorkerTarget(slot, target);
}

void JobEntry::FreeSlot(core::WorkerId worker) {
  auto it = slot_of_.find(worker);
  if (it == slot_of_.end()) return;
  slot_used_[it->second] = false;
  // The slot reads 0 until another worker takes it.
  if (metrics_ != nullptr) metrics_->SetWorkerTarget(it->second, 0);
  slot_of_.erase(it);
}

void JobEntry::SetTarget(core::WorkerId worker, int target) {
  if (metrics_ == nullptr) return;
  auto it = slot_of_.find(worker);
  if (it != slot_of_.end()) metrics_->SetWorkerTarget(it->second, target);
}

void JobEntry::UpdateWaitingGauge() {
  if (metrics_ != nullptr) {
    metrics_->barrier_waiting_calls().Set(static_cast<double>(waiting_.size()));
  }
}

JobEntry::Locked JobEntry::Lock() { return Locked(*this); }

JobEntry::Locked::Locked(JobEntry& entry) : entry_(entry) { entry_.mu_.Lock(); }

JobEntry::Locked::~Locked() {
  entry_.mu_.Unlock();
  completions_.Run();
}

absl::Status JobEntry::Locked::status() const {
  entry_.mu_.AssertHeld();
  return entry_.deleted_ ? entry_.DeletedStatus() : absl::OkStatus();
}

core::JobState& JobEntry::Locked::state() {
  entry_.mu_.AssertHeld();
  return entry_.state_;
}

int JobEntry::Locked::waiting_calls() const {
  entry_.mu_.AssertHeld();
  return static_cast<int>(entry_.waiting_.size());
}

void JobEntry::Locked::ApplyEffects(const core::Effects& effects, absl::Duration event_time) {
  entry_.mu_.AssertHeld();
  entry_.ApplyEffects(effects, event_time, &completions_);
}

void JobEntry::Locked::Park(WaitingCall* call) {
  entry_.mu_.AssertHeld();
  entry_.Park(call, &completions_);
}

bool JobEntry::Locked::Unpark(WaitingCall* call) {
  entry_.mu_.AssertHeld();
  return entry_.Unpark(call);
}

void JobEntry::Locked::OnRegistered(const core::RegisterResult& result) {
  entry_.mu_.AssertHeld();
  entry_.OnRegistered(result);
}

void JobEntry::Locked::OnReported(core::WorkerId worker, int target, absl::Duration compute) {
  entry_.mu_.AssertHeld();
  entry_.OnReported(worker, target, compute);
}

void JobEntry::Locked::OnLeft(core::WorkerId worker) {
  entry_.mu_.AssertHeld();
  entry_.FreeSlot(worker);
}

void JobEntry::Locked::ExpireWaits(absl::Time now, absl::Duration deadline) {
  entry_.mu_.AssertHeld();
  entry_.ExpireWaits(now, deadline, &completions_);
}

void JobEntry::Locked::RefreshGauges(absl::Time now) {
  entry_.mu_.AssertHeld();
  entry_.RefreshGauges(now);
}

void JobEntry::Locked::FailParked(core::WorkerId worker, const absl::Status& status) {
  entry_.mu_.AssertHeld();
  entry_.FailParked(worker, status, &completions_);
}

void JobEntry::Locked::DrainWaits(const absl::Status& status) {
  entry_.mu_.AssertHeld();
  entry_.DrainWaits(status, &completions_);
}

void JobEntry::Locked::MarkDeleted() {
  entry_.mu_.AssertHeld();
  entry_.MarkDeleted(&completions_);
}

void JobEntry::NotePolicyRequested(const core::PolicyConfig& requested) {
  pending_policy_ = requested.ToString();
  log::Event(
      log::Level::kInfo, "policy_update_requested",
      {{"job", name_}, {"policy", *pending_policy_}, {"current", state_.policy().ToString()}});
  CheckPolicyApplied(std::nullopt);
}

void JobEntry::CheckPolicyApplied(std::optional<uint64_t> from_round) {
  if (!pending_policy_.has_value() || state_.policy().ToString() != *pending_policy_) return;
  if (from_round.has_value()) {
    log::Event(log::Level::kInfo, "policy_applied",
               {{"job", name_}, {"policy", *pending_policy_}, {"from_round", *from_round}});
  } else {
    log::Event(log::Level::kInfo, "policy_applied",
               {{"job", name_}, {"policy", *pending_policy_}, {"at", "once"}});
  }
  pending_policy_.reset();
}

void JobEntry::Locked::NotePolicyRequested(const core::PolicyConfig& requested) {
  entry_.mu_.AssertHeld();
  entry_.NotePolicyRequested(requested);
}

NumberedRecord JobEntry::Locked::Record(absl::Time now) {
  entry_.mu_.AssertHeld();
  const core::JobSnapshot snap = entry_.state_.Snapshot(now);
  NumberedRecord out;
  out.seq = ++entry_.record_seq_;
  JobRecord& r = out.record;
  r.set_job(entry_.name_);
  // A change waiting for the round boundary: a restart is one.
  *r.mutable_policy() = PolicyToProto(snap.pending_policy.value_or(snap.options.policy));
  r.set_heartbeat_timeout_seconds(ToSeconds(snap.options.heartbeat_timeout));
  r.set_max_workers(static_cast<uint32_t>(snap.options.max_workers));
  r.set_auth_token_sha256(entry_.origin_.token.hex());
  r.set_auto_created(entry_.origin_.auto_created);
  r.set_create_request_id(entry_.origin_.create_request_id);
  std::vector<std::string> roster = snap.awaited_names;
  for (const core::WorkerSnapshot& w : snap.workers) roster.push_back(w.name);
  std::sort(roster.begin(), roster.end());
  for (std::string& name : roster) r.add_roster(std::move(name));
  return out;
}

std::optional<NumberedRecord> JobEntry::Locked::TakeRosterIfDue(absl::Time now,
                                                                absl::Duration interval) {
  entry_.mu_.AssertHeld();
  if (!entry_.roster_dirty_ || now - entry_.roster_taken_ < interval) return std::nullopt;
  entry_.roster_dirty_ = false;
  entry_.roster_taken_ = now;
  return Record(now);
}

void JobEntry::Locked::MarkRosterDirty() {
  entry_.mu_.AssertHeld();
  entry_.roster_dirty_ = true;
}

}  // namespace ebsp::server
