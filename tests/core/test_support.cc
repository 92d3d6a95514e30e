#include "tests/core/test_support.h"

#include <sstream>

namespace ebsp::core::testing {
namespace {

template <typename T>
void Check(std::ostringstream& diff, const char* field, const T& a, const T& b) {
  if (!(a == b)) diff << field << " differs; ";
}

void CheckDuration(std::ostringstream& diff, const std::string& field, absl::Duration a,
                   absl::Duration b) {
  if (a != b) {
    diff << field << " differs (" << absl::FormatDuration(a) << " vs " << absl::FormatDuration(b)
         << "); ";
  }
}

}  // namespace

bool PolicyConfigsEqual(const PolicyConfig& a, const PolicyConfig& b) {
  return a.kind == b.kind && a.lookahead == b.lookahead && a.staleness == b.staleness &&
         a.local_steps == b.local_steps && a.objective == b.objective &&
         a.predictor == b.predictor && a.binding == b.binding;
}

std::string PhaseName(WorkerPhase phase) {
  switch (phase) {
    case WorkerPhase::kPending:
      return "pending";
    case WorkerPhase::kRunning:
      return "running";
    case WorkerPhase::kAtBarrier:
      return "at_barrier";
    case WorkerPhase::kWaitingClock:
      return "waiting_clock";
  }
  return "unknown";
}

::testing::AssertionResult SnapshotsEqual(const JobSnapshot& a, const JobSnapshot& b) {
  std::ostringstream diff;
  Check(diff, "name", a.name, b.name);
  if (!PolicyConfigsEqual(a.options.policy, b.options.policy)) diff << "options.policy differs; ";
  CheckDuration(diff, "options.heartbeat_timeout", a.options.heartbeat_timeout,
                b.options.heartbeat_timeout);
  Check(diff, "options.max_workers", a.options.max_workers, b.options.max_workers);
  if (a.pending_policy.has_value() != b.pending_policy.has_value() ||
      (a.pending_policy.has_value() && !PolicyConfigsEqual(*a.pending_policy, *b.pending_policy))) {
    diff << "pending_policy differs; ";
  }
  Check(diff, "round", a.round, b.round);
  Check(diff, "membership_epoch", a.membership_epoch, b.membership_epoch);
  Check(diff, "membership_fingerprint", a.membership_fingerprint, b.membership_fingerprint);
  Check(diff, "awaited_names", a.awaited_names, b.awaited_names);
  Check(diff, "hold_until", a.hold_until, b.hold_until);
  Check(diff, "arrived", a.arrived, b.arrived);
  Check(diff, "missing", a.missing, b.missing);
  Check(diff, "missing_names", a.missing_names, b.missing_names);
  Check(diff, "first_arrival", a.first_arrival, b.first_arrival);
  Check(diff, "planned_sync_time", a.planned_sync_time, b.planned_sync_time);
  Check(diff, "round_began", a.round_began, b.round_began);
  Check(diff, "rounds_completed", a.rounds_completed, b.rounds_completed);
  Check(diff, "evictions_total", a.evictions_total, b.evictions_total);
  Check(diff, "idle_fraction", a.idle_fraction, b.idle_fraction);
  Check(diff, "staleness", a.staleness, b.staleness);
  if (a.workers.size() != b.workers.size()) {
    diff << "workers: " << a.workers.size() << " vs " << b.workers.size() << "; ";
  } else {
    for (size_t i = 0; i < a.workers.size(); ++i) {
      const WorkerSnapshot& x = a.workers[i];
      const WorkerSnapshot& y = b.workers[i];
      const std::string at = "workers[" + std::to_string(i) + "].";
      if (x.worker != y.worker) diff << at << "worker differs; ";
      if (x.name != y.name) diff << at << "name differs; ";
      if (x.phase != y.phase) {
        diff << at << "phase " << PhaseName(x.phase) << " vs " << PhaseName(y.phase) << "; ";
      }
      if (x.iterations_in_round != y.iterations_in_round) {
        diff << at << "iterations_in_round " << x.iterations_in_round << " vs "
             << y.iterations_in_round << "; ";
      }
      if (x.target != y.target) diff << at << "target " << x.target << " vs " << y.target << "; ";
      if (x.iterations_total != y.iterations_total) diff << at << "iterations_total differs; ";
      CheckDuration(diff, at + "last_compute", x.last_compute, y.last_compute);
      CheckDuration(diff, at + "predicted_interval", x.predicted_interval, y.predicted_interval);
      CheckDuration(diff, at + "since_last_seen", x.since_last_seen, y.since_last_seen);
      CheckDuration(diff, at + "lease_remaining", x.lease_remaining, y.lease_remaining);
    }
  }
  const std::string text = diff.str();
  if (text.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "snapshots differ: " << text;
}

void AddSteadyMember(PredictorKind kind, absl::Duration interval, int reports, absl::Time start,
                     std::vector<std::unique_ptr<IterationPredictor>>& predictors,
                     std::vector<RoundMember>& members) {
  std::unique_ptr<IterationPredictor> predictor = MakePredictor(kind);
  const absl::Time past = start - absl::Hours(1);
  predictor->StartRound(past);
  for (int i = 1; i <= reports; ++i) predictor->ObserveIteration(past + i * interval, interval);
  predictor->StartRound(start);
  RoundMember m;
  m.id = members.size() + 1;
  m.round_start = start;
  m.predictor = predictor.get();
  predictors.push_back(std::move(predictor));
  members.push_back(m);
}

}  // namespace ebsp::core::testing
