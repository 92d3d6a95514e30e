// JobState: the state machine of one training job: membership, leases,
// rounds, barrier bookkeeping, SSP clocks, and the policy that sets targets.
//
// Every event takes the coordinator time `now` from its caller and returns
// what the caller must do (which waiting calls to complete, who was evicted)
// instead of doing it: no clock, no threads, no I/O. The gRPC service runs it
// under one mutex per job; the simulator and the tests run it in virtual time.
//
// A failed event returns a precise absl::Status and leaves the state exactly
// as it was. Not thread-safe: the owner serializes all calls.
//
// Rounds (BSP, ElasticBSP, LOCAL_STEPS): round r begins when barrier r-1
// releases (round 0 begins when the job is created). A worker registering
// while no live member has finished an iteration of the current round joins
// that round; otherwise it is PENDING, calls ArriveAtBarrier(current round),
// and is released with the others into the next round. Its arrival does not
// hold the barrier back. Roundless policies (ASP, SSP) keep round 0 forever.
//
// Retries (the proto's "Retries and idempotency"): the core decides what is
// a retry, so the rule is deterministic and tested in virtual time. A retry
// is answered like the original and changes nothing but the worker's lease:
//   Register with a request id that registered a worker still live: that
//     registration's result (RegisterResult::retry).
//   ReportIteration of the (round, iteration) the worker reported last: the
//     directive for it again, counted once (ReportResult::retry).
//   ArriveAtBarrier(r) from a worker released from r that has not reported
//     since, WaitForClock from one released from its clock wait that has not
//     reported since: the release again.
//   Leave of a worker remembered as having left: OK, no effects.
// Memory: one request id and one answer per live worker; tombstones of
// departed workers are bounded (departures.h).
//
// Restart hold: a job restored after a coordinator restart is told the names
// that were live before it (ExpectMembers). Until all of them have registered
// again, or the hold's deadline passes, the barrier of the current round does
// not release, so the first release after the restart has the membership of
// the last one before it (same fingerprint: no process group rebuild). An
// awaited name registering during the hold joins the held round as a RUNNING
// member (even if the round is in progress), so every member of that round
// passes its barrier exactly once (one all-reduce each).
#ifndef EBSP_LIB_CORE_JOB_JOB_STATE_H_
#define EBSP_LIB_CORE_JOB_JOB_STATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/core/policy/policy_config.h"
#include "lib/core/predict/predictor.h"
#include "lib/core/types.h"

namespace ebsp::core {

inline constexpr absl::Duration kDefaultHeartbeatTimeout = absl::Seconds(10);
inline constexpr int kDefaultMaxWorkersPerJob = 10000;

struct JobOptions {
  PolicyConfig policy;
  absl::Duration heartbeat_timeout = kDefaultHeartbeatTimeout;
  int max_workers = kDefaultMaxWorkersPerJob;
  // If set, replaces the predictor the policy names (simulator's oracle).
  PredictorFactory predictor_factory;
};

// WorkerId, WorkerPhase (and the workers' state diagram), SyncAction and
// WaitKind are in lib/core/types.h.
enum class EvictionReason { kLeaseExpired };

// Complete the waiting Barrier (or WaitForClock) call of `worker`.
struct Release {
  WorkerId worker = 0;
  WaitKind kind = WaitKind::kBarrier;
  uint64_t round = 0;  // The round that begins now (barrier).
  int target = 0;      // The worker's target in it (barrier).
  absl::Duration waited;
  // WaitKind::kClock: the worker's SSP clock and the slowest live clock at
  // release (a late joiner's clock starts at the slowest one, so these are
  // not iteration totals).
  uint64_t own_clock = 0;
  uint64_t slowest_clock = 0;
  // The membership at the release: every worker released from one barrier
  // gets the same values, also one whose reply was lost and who calls again
  // after others joined or left.
  uint64_t membership_epoch = 0;
  uint64_t membership_fingerprint = 0;
  int live_workers = 0;
};

struct Eviction {
  WorkerId worker = 0;
  std::string name;
  EvictionReason reason = EvictionReason::kLeaseExpired;
  // The worker had a call waiting (barrier or clock): complete it with an
  // error that tells it to register again.
  bool was_waiting = false;
  // How long the worker had been silent (now - its last event) when evicted.
  absl::Duration silence;
};

// One finished round, for metrics and the simulator.
struct RoundSummary {
  struct Member {
    WorkerId worker = 0;
    int target = 0;
    absl::Duration waited;  // release - arrival.
  };
  uint64_t round = 0;
  absl::Time began;
  absl::Time released;
  std::vector<Member> members;
  absl::Duration total_wait;      // Actual: sum of members' waits.
  absl::Duration predicted_wait;  // What the plan predicted (zero if no plan).
};

// What the caller must do after an event. Most events produce none of it.
struct Effects {
  std::vector<Release> releases;
  std::vector<Eviction> evictions;
  std::vector<RoundSummary> rounds_completed;
  bool membership_changed = false;
  // ZipLine ran inside this event (the shell times the event as planning).
  bool planned = false;
};

struct RegisterResult {
  WorkerId worker = 0;
  WorkerPhase phase = WorkerPhase::kRunning;
  uint64_t round = 0;  // The round the worker runs next.
  int target = 0;
  uint64_t membership_epoch = 0;
  uint64_t membership_fingerprint = 0;
  int live_workers = 0;
  // A retry of an applied Register (same request id): this is the original
  // result, `worker` is the original id (not the one passed in), and nothing
  // changed: `effects` is empty.
  bool retry = false;
  Effects effects;
};

struct ReportResult {
  SyncAction action = SyncAction::kContinue;
  int target = 0;
  uint64_t round = 0;
  // A retry of the worker's last report: answered again, counted once.
  bool retry = false;
  Effects effects;
};

struct HeartbeatResult {
  uint64_t round = 0;
  uint64_t membership_epoch = 0;
  uint64_t membership_fingerprint = 0;
  absl::Duration lease_remaining;
};

struct WorkerSnapshot {
  WorkerId worker = 0;
  std::string name;
  WorkerPhase phase = WorkerPhase::kRunning;
  int iterations_in_round = 0;
  int target = 0;
  uint64_t iterations_total = 0;
  absl::Duration last_compute;
  absl::Duration predicted_interval;
  absl::Duration since_last_seen;
  absl::Duration lease_remaining;
};

struct JobSnapshot {
  std::string name;
  JobOptions options;  // predictor_factory is not meaningful to readers.
  std::optional<PolicyConfig> pending_policy;
  uint64_t round = 0;
  uint64_t membership_epoch = 0;
  uint64_t membership_fingerprint = 0;  // See membership_fingerprint.h.
  std::vector<WorkerSnapshot> workers;  // Sorted by id.
  std::vector<WorkerId> arrived;        // At the barrier of `round`.
  std::vector<WorkerId> missing;        // Live round members not arrived.
  std::vector<std::string> missing_names;
  std::optional<absl::Time> first_arrival;
  std::optional<absl::Time> planned_sync_time;
  // Restart hold in force: the names the barrier still waits for, and until
  // when (empty / nullopt when no hold).
  std::vector<std::string> awaited_names;
  std::optional<absl::Time> hold_until;
  absl::Time round_began;
  uint64_t rounds_completed = 0;
  uint64_t evictions_total = 0;
  double idle_fraction = 0;  // Wait time / (live worker time) since creation.
  // How many iterations a live worker has run since the last point all live
  // workers shared: with rounds, the most iterations any round member has done
  // since the last barrier (at most R under ElasticBSP, 1 under BSP); without
  // rounds (ASP, SSP), the fastest clock minus the slowest. Totals are not
  // used: under ElasticBSP fast workers run more iterations by design, so the
  // gap between totals grows without bound and bounds nothing.
  uint64_t staleness = 0;
};

class JobState {
 public:
  // `options.policy` must be valid (PolicyConfig::Validate).
  JobState(std::string name, JobOptions options, absl::Time now);
  ~JobState();
  JobState(const JobState&) = delete;
  JobState& operator=(const JobState&) = delete;

  // `id` is chosen by the caller (the service makes them unique across jobs
  // and restarts). ALREADY_EXISTS if `name` is live in the job or `id` is
  // taken; RESOURCE_EXHAUSTED at max_workers; INVALID_ARGUMENT for a bad name.
  absl::StatusOr<RegisterResult> Register(WorkerId id, std::string_view name, absl::Time now);
  // The same with an idempotency key (names.h: ValidateRequestId). If
  // `request_id` registered a worker that is still live, returns that
  // registration's result with `retry` set (only its lease is refreshed);
  // INVALID_ARGUMENT if that worker has another name. A request id whose
  // worker is gone registers anew. Empty: as Register above.
  absl::StatusOr<RegisterResult> Register(WorkerId id, std::string_view name,
                                          std::string_view request_id, absl::Time now);

  // The worker finished `iteration` (1-based within `round`; roundless
  // policies: since registering). The same (round, iteration) as the
  // worker's last accepted report, while it is still running, is a retry
  // (answered with the directive for that iteration, counted once).
  // FAILED_PRECONDITION for a round that is not
  // the worker's current one or an iteration that is not the next one, or a
  // worker that is PENDING / at the barrier; INVALID_ARGUMENT for a negative,
  // NaN or infinite compute time; NOT_FOUND for an unknown worker.
  absl::StatusOr<ReportResult> ReportIteration(WorkerId id, uint64_t round, int iteration,
                                               absl::Duration compute, absl::Time now);

  // The worker waits at the barrier of `round`. Allowed once the worker has
  // reached its target (or is PENDING with `round` the current round).
  // Arriving again at the same barrier (a retry after a deadline) is
  // accepted and changes nothing; arriving at the barrier that released it,
  // before its first report of the new round, answers the release again. If
  // this arrival completes the barrier, the returned releases include this
  // worker itself.
  absl::StatusOr<Effects> ArriveAtBarrier(WorkerId id, uint64_t round, absl::Time now);

  // SSP: the worker waits until the slowest live worker is within
  // `staleness` of it. If it already is, the releases include the worker.
  // A call from a worker released from its wait that has not reported since
  // is answered with a release at once. FAILED_PRECONDITION under other
  // policies.
  absl::StatusOr<Effects> WaitForClock(WorkerId id, absl::Time now);

  absl::StatusOr<HeartbeatResult> Heartbeat(WorkerId id, absl::Time now);

  // The worker leaves; the barrier stops waiting for it (which may release).
  // A worker remembered as having left: OK with no effects (a retry).
  absl::StatusOr<Effects> Leave(WorkerId id, absl::Time now);

  // Evicts every worker whose lease expired before `now`, and ends a restart
  // hold whose deadline passed. Every successful event for a worker
  // refreshes that worker's lease.
  Effects Tick(absl::Time now);

  // Restart hold (see the top): the barrier of the current round waits until
  // every name in `names` is live or until `until`. Round policies only; a
  // no-op for ASP/SSP or an empty list. Replaces any earlier hold.
  void ExpectMembers(const std::vector<std::string>& names, absl::Time until);

  // The names of the live workers, sorted; O(n).
  std::vector<std::string> LiveWorkerNames() const;

  // The earliest lease expiry, so the shell can schedule its next Tick.
  std::optional<absl::Time> NextLeaseExpiry() const;

  // Validated change; takes effect at the next round boundary (at once if no
  // round is in progress). FAILED_PRECONDITION when switching between a
  // policy with rounds and one without while the job has workers.
  absl::Status UpdatePolicy(const PolicyConfig& policy, absl::Time now);

  JobSnapshot Snapshot(absl::Time now) const;

  // Bumps on every join, leave and eviction; O(1), unlike Snapshot.
  uint64_t membership_epoch() const;
  // The fingerprint of the live names (membership_fingerprint.h); O(1).
  uint64_t membership_fingerprint() const;

  const std::string& name() const;
  const PolicyConfig& policy() const;
  int live_workers() const;
  bool IsMember(WorkerId id) const;
  // The live worker's name; empty when `id` is not a live member. O(1).
  std::string WorkerName(WorkerId id) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_JOB_STATE_H_
