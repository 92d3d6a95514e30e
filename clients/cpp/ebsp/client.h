// The C++ client of the ElasticBSP coordinator: what one training worker
// links to learn when to synchronize.
//
//   absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
//   if (!client.ok()) return client.status();
//   while (training) {
//     RunOneIteration();
//     absl::StatusOr<StepResult> step = (*client)->IterationDone(compute);
//     if (!step.ok()) return step.status();
//     if (!step->sync_now) continue;
//     absl::StatusOr<SyncResult> sync = (*client)->Sync();
//     if (!sync.ok()) return sync.status();
//     if (!sync->synchronized) continue;  // Re-registered: nobody syncs now.
//     if (sync->membership_changed) RebuildProcessGroup();
//     AllReduceGradients();
//   }
//   (*client)->Leave();
//
// Connect registers the worker. A worker that joins mid-round is PENDING;
// Connect itself waits at the barrier of that round, so when it returns the
// worker is always RUNNING in a round, with a target.
//
// Failures: UNAVAILABLE, CANCELLED by a coordinator that is stopping, and a
// DEADLINE_EXCEEDED nobody answered are retried with exponential backoff and jitter for as
// long as the outage budget allows (RetryPolicy::outage_budget, default 10 minutes): an
// unreachable coordinator pauses the worker, one log line marks the start and one the end
// of each outage (ClientOptions::log). NOT_FOUND (the
// coordinator restarted, or evicted this worker after its lease expired) makes the client
// register again by itself (a fresh request_id, reused on its retries) and say so
// (`reregistered`); the iteration being reported is then not sent again (the Python client
// does the same), the worker starts afresh in the round it joined, and a Sync that got it
// returns synchronized=false. While the coordinator is away the worker trains on up to the
// bound it holds (IterationDone returns without an answer, `unreported` counts them); the
// kept reports go out in order when it answers again, or are dropped after NOT_FOUND.
// membership_changed means the set of worker names changed (membership_fingerprint). Any
// other error surfaces at once, unchanged, and changes nothing on either side.
//
// High availability (docs/ha.md): a standby's UNAVAILABLE naming the leader
// (`ebsp-leader`) sends the call there at once; when that leader fails, the
// client goes back to `target` (rpc_runner.h, connection.h). The heartbeat
// doubles as a liveness probe: one unanswered for max(2 s, its interval)
// cancels the call in flight and retries it on a fresh channel, which is
// probed at once (from the third unanswered probe in a row the deadline
// doubles, up to call_deadline, so a slow link cannot lose every call). A
// frozen coordinator holds a worker for seconds, not until gRPC's keepalive
// (10 s pings, 5 s timeout: the bound with heartbeats off).
//
// Thread-safety: one thread (the training loop) calls IterationDone, Sync
// and Leave and destroys the client; the accessors are for that thread too.
// A background thread, internal to the client, sends heartbeats so that a
// long iteration does not lose the lease; it stops promptly on destruction.
#ifndef EBSP_CLIENTS_CPP_EBSP_CLIENT_H_
#define EBSP_CLIENTS_CPP_EBSP_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/channel.h"
#include "clients/cpp/ebsp/connection.h"
#include "clients/cpp/ebsp/retry.h"
#include "clients/cpp/ebsp/rpc_runner.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"

namespace ebsp::client {

struct ClientOptions {
  std::string target;       // "host:port" of the coordinator.
  std::string job;          // Job name, [A-Za-z0-9._-]{1,128}.
  std::string worker_name;  // Unique among the job's live workers ("host:rank").
  std::string auth_token;   // The job's token, if it has one.
  // Plaintext unless tls.enabled: CA, client certificate for mutual TLS,
  // server name override (channel.h).
  TlsChannelOptions tls;
  // Used only when Register creates the job (coordinator flag
  // --auto_create_jobs); unset means the coordinator's default. See
  // ParsePolicyText (policy_text.h) for "bsp", "ebsp:R=8", ...
  elasticbsp::v1::Policy policy_if_created;
  // Zero: a third of the lease (heartbeat timeout) the coordinator returns.
  absl::Duration heartbeat_interval = absl::ZeroDuration();
  // Tests turn heartbeats off to let a lease expire.
  bool heartbeats = true;
  // Deadline of each attempt of each call, except Barrier and WaitForClock,
  // whose deadline is the coordinator's barrier deadline plus this.
  absl::Duration call_deadline = absl::Seconds(10);
  // Backoff between attempts and the outage budget (default 10 minutes, zero
  // for no limit): how long an unreachable coordinator may pause the worker
  // before a call fails.
  RetryPolicy retry;
  // Told about every retry; called on the training thread.
  RetryObserver on_retry;
  // Where the client writes its rare log lines: one when a coordinator
  // outage begins, one when it ends (with its length). Empty: stderr.
  LogSink log;
  // If set, used instead of dialing `target` (e.g. one channel shared by
  // the workers of a process).
  std::shared_ptr<grpc::Channel> channel;
};

// What IterationDone returns.
struct StepResult {
  // The worker reached its target: call Sync() before the next iteration.
  bool sync_now = false;
  uint64_t round = 0;  // The current round.
  int target = 0;      // Target in `round` (may move up when re-planned).
  int iteration = 0;   // Iterations done in `round` (roundless: since registering).
  // Of those, iterations the coordinator has not acknowledged yet: the
  // coordinator is unreachable and the worker trains on within its bound.
  int unreported = 0;
  // SSP: time blocked in WaitForClock before this returned.
  absl::Duration clock_wait = absl::ZeroDuration();
  // The worker had to register again (NOT_FOUND: a coordinator restart or an
  // eviction); iterations not reported by then were not counted.
  bool reregistered = false;
  // The set of live worker names now differs from the one at the last Sync
  // (informational: rebuild a process group only on SyncResult's).
  bool membership_changed = false;
};

// What Sync returns: the round that begins now.
struct SyncResult {
  // False: there was no barrier (the worker had to register again while
  // waiting, after a coordinator restart, and starts the round it joined
  // afresh). Nobody else synchronizes now: skip the training stack's
  // synchronization (all-reduce) this time.
  bool synchronized = true;
  uint64_t round = 0;
  int target = 0;
  absl::Duration waited = absl::ZeroDuration();  // Time spent at the barrier.
  int live_workers = 0;
  uint64_t membership_epoch = 0;
  uint64_t membership_fingerprint = 0;
  bool reregistered = false;
  // The set of worker names released from this barrier differs from the set
  // of the previous one (the proto's "Membership": fingerprints compared;
  // epochs, and any re-registration, with a coordinator that sends none).
  // Only this means "rebuild the process group": the same names coming back
  // after a coordinator restart do not.
  bool membership_changed = false;
};

class Client {
 public:
  // Registers (with retries), waits out the round if the worker joined as
  // PENDING, and starts the heartbeat thread. INVALID_ARGUMENT for options
  // without target/channel, job or worker name; otherwise the coordinator's
  // status (PERMISSION_DENIED, RESOURCE_EXHAUSTED, ALREADY_EXISTS, ...), or
  // the last UNAVAILABLE once the outage budget is spent.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(ClientOptions options);

  // Stops the heartbeat thread, then leaves the job (one attempt, short
  // deadline) unless Leave already did.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Reports that one more iteration finished after `compute` of the worker's
  // own compute time. Under SSP a WAIT directive blocks here (WaitForClock)
  // until the slowest worker catches up. FAILED_PRECONDITION if the last
  // result said sync_now and Sync() has not been called, or after Leave.
  absl::StatusOr<StepResult> IterationDone(absl::Duration compute);

  // Waits at the barrier of the current round; returns when it releases,
  // with the next round's target. FAILED_PRECONDITION unless the last
  // IterationDone said sync_now.
  absl::StatusOr<SyncResult> Sync();

  // Leaves the job (the barrier stops waiting for this worker). NOT_FOUND
  // from the coordinator counts as success: the worker is gone either way.
  absl::Status Leave();

  uint64_t worker_id() const;
  uint64_t round() const { return round_; }
  int target() const { return target_; }
  int iteration() const { return iteration_; }
  // The job's policy as the coordinator reported it at registration.
  const elasticbsp::v1::Policy& policy() const { return policy_; }
  // Registrations done so far (1 after Connect; more after NOT_FOUND).
  int registrations() const { return registrations_; }

 private:
  Client(ClientOptions options, std::shared_ptr<grpc::ChannelCredentials> credentials);

  // Register, then (PENDING) wait at the barrier of the running round.
  absl::Status Join();
  absl::Status JoinOnce(bool* retry_join);
  // Join after a NOT_FOUND, bounded; `cause` is kept in the error if that fails.
  absl::Status Rejoin(const absl::Status& cause);
  // Reports the iterations not acknowledged yet, in order, and follows the
  // last directive. While MayTrainOnUnanswered, one attempt and no wait: an
  // unanswered report stays for the next call. At the bound it waits (within
  // the outage budget). NOT_FOUND: registers again, drops them.
  absl::Status ReportUnreported(StepResult& result);
  // The worker may start another iteration without an answer: below its
  // target (round policies), within what provably keeps the staleness bound
  // (SSP), below kMaxUnreported (ASP).
  bool MayTrainOnUnanswered() const;
  bool ChangedSinceSync(uint64_t fingerprint, uint64_t epoch) const;
  void MarkSynchronized(uint64_t fingerprint, uint64_t epoch);
  absl::Duration WaitDeadline() const;
  absl::StatusOr<elasticbsp::v1::WaitForClockResponse> WaitForClock();

  void HeartbeatLoop();
  // The heartbeat's deadline after `unanswered_probes` unanswered ones.
  absl::Duration ProbeDeadline(int unanswered_probes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopHeartbeats();

  const ClientOptions options_;
  Connection connection_;  // Thread-safe.

  // Training-thread state.
  RpcRunner runner_;
  elasticbsp::v1::Policy policy_;
  bool has_rounds_ = true;
  absl::Duration barrier_deadline_ = absl::Minutes(10);
  uint64_t round_ = 0;
  int target_ = 0;
  int iteration_ = 0;  // Done in round_, including unreported_.
  // Compute times of iterations done but not acknowledged, oldest first.
  std::deque<absl::Duration> unreported_;
  // SSP: an upper bound on (own clock - slowest clock), from the last
  // WaitForClock release plus the iterations since.
  int64_t ssp_lead_bound_ = 0;
  uint64_t membership_epoch_ = 0;        // Of the last reply.
  uint64_t membership_fingerprint_ = 0;  // Of the last reply.
  // At the last barrier (or the first registration).
  uint64_t sync_fingerprint_ = 0;
  uint64_t sync_epoch_ = 0;
  bool rejoined_since_sync_ = false;
  absl::BitGen request_ids_;
  bool sync_pending_ = false;
  bool left_ = false;
  int registrations_ = 0;

  // Shared with the heartbeat thread.
  mutable absl::Mutex mu_;
  uint64_t worker_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
  // The heartbeat in flight, so that destruction can cancel it.
  grpc::ClientContext* heartbeat_call_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread heartbeat_thread_;
};

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_CLIENT_H_
