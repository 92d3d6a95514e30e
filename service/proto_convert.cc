#include "service/proto_convert.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ebsp::server {

v1::WorkerState WorkerStateToProto(core::WorkerPhase phase) {
  switch (phase) {
    case core::WorkerPhase::kPending:
      return v1::WORKER_STATE_PENDING;
    case core::WorkerPhase::kRunning:
      return v1::WORKER_STATE_RUNNING;
    case core::WorkerPhase::kAtBarrier:
      return v1::WORKER_STATE_AT_BARRIER;
    case core::WorkerPhase::kWaitingClock:
      return v1::WORKER_STATE_WAITING_CLOCK;
  }
  return v1::WORKER_STATE_UNSPECIFIED;
}

v1::Directive DirectiveToProto(core::SyncAction action) {
  switch (action) {
    case core::SyncAction::kContinue:
      return v1::DIRECTIVE_CONTINUE;
    case core::SyncAction::kSyncNow:
      return v1::DIRECTIVE_SYNC_NOW;
    case core::SyncAction::kWait:
      return v1::DIRECTIVE_WAIT;
  }
  return v1::DIRECTIVE_UNSPECIFIED;
}

double ToSeconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

void JobToProto(const core::JobSnapshot& snapshot, absl::Time now, v1::Job* job) {
  v1::JobSpec* spec = job->mutable_spec();
  spec->set_job(snapshot.name);
  *spec->mutable_policy() = PolicyToProto(snapshot.options.policy);
  spec->set_heartbeat_timeout_seconds(ToSeconds(snapshot.options.heartbeat_timeout));
  spec->set_max_workers(static_cast<uint32_t>(snapshot.options.max_workers));
  job->set_round(snapshot.round);
  job->set_membership_epoch(snapshot.membership_epoch);
  job->set_membership_fingerprint(snapshot.membership_fingerprint);
  job->mutable_workers()->Reserve(static_cast<int>(snapshot.workers.size()));
  for (const core::WorkerSnapshot& w : snapshot.workers) {
    v1::WorkerStatus* status = job->add_workers();
    status->set_worker_id(w.worker);
    status->set_name(w.name);
    status->set_state(WorkerStateToProto(w.phase));
    status->set_iterations_in_round(static_cast<uint32_t>(w.iterations_in_round));
    status->set_target(static_cast<uint32_t>(w.target));
    status->set_iterations_total(w.iterations_total);
    status->set_last_compute_seconds(ToSeconds(w.last_compute));
    status->set_predicted_interval_seconds(ToSeconds(w.predicted_interval));
    status->set_seconds_since_last_seen(ToSeconds(w.since_last_seen));
    status->set_lease_remaining_seconds(ToSeconds(w.lease_remaining));
  }
  v1::BarrierStatus* barrier = job->mutable_barrier();
  barrier->set_round(snapshot.round);
  for (core::WorkerId id : snapshot.arrived) barrier->add_arrived_worker_ids(id);
  for (core::WorkerId id : snapshot.missing) barrier->add_missing_worker_ids(id);
  for (const std::string& name : snapshot.missing_names) {
    barrier->add_missing_worker_names(name);
  }
  if (snapshot.planned_sync_time.has_value()) {
    barrier->set_planned_sync_after_seconds(
        ToSeconds(*snapshot.planned_sync_time - snapshot.round_began));
  }
  if (snapshot.first_arrival.has_value()) {
    barrier->set_seconds_since_first_arrival(ToSeconds(now - *snapshot.first_arrival));
  }
  if (snapshot.pending_policy.has_value()) {
    *job->mutable_pending_policy() = PolicyToProto(*snapshot.pending_policy);
  }
  job->set_rounds_completed(snapshot.rounds_completed);
  job->set_evictions_total(snapshot.evictions_total);
  job->set_idle_fraction(snapshot.idle_fraction);
}

}  // namespace ebsp::server
